/* Follow the Airflow UI's light/dark theme: the parent frame's <html> class when embedded (same
   origin), else the "theme" key Airflow keeps in localStorage (light, dark or system). Loaded
   synchronously in <head> so the page never flashes the wrong theme. */
(function () {
  "use strict";
  var root = document.documentElement;
  var media = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;

  function parentRoot() {
    try {
      if (window.parent && window.parent !== window) {
        return window.parent.document.documentElement;
      }
    } catch (e) {
      /* not same-origin: fall back to localStorage */
    }
    return null;
  }

  function wantsDark() {
    var parent = parentRoot();
    if (parent && (parent.classList.contains("dark") || parent.classList.contains("light"))) {
      return parent.classList.contains("dark");
    }
    var stored = null;
    try { stored = window.localStorage.getItem("theme"); } catch (e) { stored = null; }
    if (stored === "dark") { return true; }
    if (stored === "light") { return false; }
    return !!(media && media.matches);
  }

  function apply() {
    var dark = wantsDark();
    if (root.classList.contains("dark") === dark && root.classList.contains("light") === !dark) { return; }
    root.classList.toggle("dark", dark);
    root.classList.toggle("light", !dark);
    document.dispatchEvent(new CustomEvent("sms-tracking:theme", { detail: { dark: dark } }));
  }

  apply();
  var parent = parentRoot();
  if (parent && window.MutationObserver) {
    new MutationObserver(apply).observe(parent, { attributes: true, attributeFilter: ["class"] });
  }
  window.addEventListener("storage", function (event) { if (event.key === "theme") { apply(); } });
  if (media && media.addEventListener) { media.addEventListener("change", apply); }
})();
