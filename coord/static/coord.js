// coord: small progressive enhancements. No inline scripts anywhere (CSP: script-src 'self').
document.addEventListener("htmx:responseError", (event) => {
  // Show the server's Chinese error fragment where the request was aimed, instead of nothing.
  const xhr = event.detail.xhr;
  const target = event.detail.target;
  if (xhr && xhr.responseText && target && xhr.getResponseHeader("Content-Type")?.includes("text/html")) {
    target.innerHTML = xhr.responseText;
  }
});
