// Oversight dashboard charts: Apache ECharts (vendored in static/vendor/echarts), loaded only on pages
// that have a chart. The data sits in a data attribute as JSON (no inline script: CSP script-src 'self'); each
// point carries the URL of the records it counts, so a click drills down like the table beside it.
(function () {
  "use strict";
  var loading = null;

  function loadECharts(src) {
    if (window.echarts) return Promise.resolve(window.echarts);
    if (!loading) {
      loading = new Promise(function (resolve, reject) {
        var s = document.createElement("script");
        s.src = src;
        s.onload = function () { resolve(window.echarts); };
        s.onerror = reject;
        document.head.appendChild(s);
      });
    }
    return loading;
  }

  function seriesOf(spec, kind) {
    var out = [];
    (spec.bars || []).forEach(function (b) {
      var urls = b.urls || (b.link ? spec.ids.map(function (id) { return b.link[0] + id + b.link[1]; }) : []);
      var s = {name: b.name, type: "bar", data: b.data, urls: urls, emphasis: {focus: "series"}};
      if (kind === "trend" || kind === "measures") s.stack = "measures";
      out.push(s);
    });
    (spec.lines || []).forEach(function (l) {
      out.push({name: l.name, type: "line", data: l.data, urls: l.urls, smooth: false, symbolSize: 7});
    });
    return out;
  }

  function options(spec, kind) {
    var horizontal = kind !== "trend";
    var category = {type: "category", data: spec.categories, axisLabel: {interval: 0}};
    var value = {type: "value", minInterval: 1};
    if (horizontal) category.inverse = true;
    return {
      animation: false,
      // richText: the tooltip is drawn by ECharts itself, not as HTML with inline styles (which the CSP blocks).
      tooltip: {trigger: "axis", axisPointer: {type: "shadow"}, renderMode: "richText"},
      legend: {type: "scroll", top: 0},
      grid: {left: 8, right: 24, top: 40, bottom: 8, containLabel: true},
      xAxis: horizontal ? value : category,
      yAxis: horizontal ? category : value,
      series: seriesOf(spec, kind)
    };
  }

  function draw(echarts, el, spec, kind) {
    if (kind !== "trend") el.style.height = Math.max(180, 70 + spec.categories.length * 26) + "px";
    var chart = echarts.init(el, null, {renderer: "svg", locale: "ZH"});
    var opts = options(spec, kind);
    chart.setOption(opts);
    chart.on("click", function (p) {
      var series = opts.series[p.seriesIndex];
      var url = series && series.urls && series.urls[p.dataIndex];
      if (url) window.location.assign(url);
    });
    window.addEventListener("resize", function () { chart.resize(); });
    el.setAttribute("data-rendered", "1");
  }

  function init(root) {
    var block = document.getElementById("oversight-charts");
    if (!block) return;
    var targets = (root || document).querySelectorAll("[data-chart]:not([data-rendered])");
    if (!targets.length) return;
    var data = JSON.parse(block.getAttribute("data-charts"));
    loadECharts(block.getAttribute("data-echarts")).then(function (echarts) {
      targets.forEach(function (el) {
        var spec = data[el.getAttribute("data-chart")];
        if (spec) draw(echarts, el, spec, el.getAttribute("data-chart"));
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (e) { init(e.target); });
})();
