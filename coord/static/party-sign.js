// The party's drawn signature (the one progressive enhancement of /p/): signature_pad (MIT, vendored)
// draws on the canvas; on submit the drawing goes into the hidden field as a PNG data URL. Without
// JavaScript the canvas stays hidden and the server refuses the empty signature with a clear message.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("sign-form");
  const canvas = document.getElementById("signature-pad");
  if (!form || !canvas || typeof SignaturePad === "undefined") return;
  form.querySelectorAll(".js-only").forEach((el) => { el.hidden = false; });
  const pad = new SignaturePad(canvas, { penColor: "#111", minWidth: 1, maxWidth: 2.5 });
  const field = document.getElementById("signature");

  function resize() {
    // Match the canvas to its displayed size and the screen's pixel ratio, keeping what was drawn.
    const data = pad.toData();
    const ratio = Math.max(window.devicePixelRatio || 1, 1);
    canvas.width = canvas.offsetWidth * ratio;
    canvas.height = canvas.offsetHeight * ratio;
    canvas.getContext("2d").scale(ratio, ratio);
    pad.clear();
    pad.fromData(data);
  }
  window.addEventListener("resize", resize);
  resize();

  document.getElementById("signature-clear").addEventListener("click", () => {
    pad.clear();
    field.value = "";
  });
  form.addEventListener("submit", () => {
    field.value = pad.isEmpty() ? "" : pad.toDataURL("image/png");
  });
});
