/* Small behaviours of the SMS Tracking pages (no inline scripts: the CSP allows only 'self'). */
(function () {
  "use strict";

  /* Filter selects apply on change. */
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () {
      if (select.form) { select.form.requestSubmit ? select.form.requestSubmit() : select.form.submit(); }
    });
  });

  /* Links to Airflow's own pages (DAG runs). Embedded in Airflow's sandboxed iframe, top-level
     navigation is not allowed, so hand the route to Airflow's router in the parent window
     (same origin); standalone, the link navigates normally. */
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a.airflow-link") : null;
    if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) { return; }
    var parent;
    try {
      parent = window.parent !== window ? window.parent : null;
      if (parent) { void parent.location.pathname; }
    } catch (e) {
      parent = null;
    }
    if (!parent) { return; }
    event.preventDefault();
    var url = new URL(link.href);
    var state = parent.history.state || {};
    var index = typeof state.idx === "number" ? state.idx + 1 : 0;
    parent.history.pushState({ usr: null, key: Math.random().toString(36).slice(2, 10), idx: index }, "",
      url.pathname + url.search + url.hash);
    parent.dispatchEvent(new PopStateEvent("popstate", { state: parent.history.state }));
  });
})();
