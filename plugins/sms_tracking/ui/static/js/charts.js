/* Draw the charts of a page with the vendored Chart.js from the JSON specs the server embeds
   (<script type="application/json">); colours come from the theme's CSS variables and the charts
   are redrawn when the Airflow theme changes. */
(function () {
  "use strict";
  if (!window.Chart) { return; }
  var charts = [];
  window.Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;

  function css(name) {
    return getComputedStyle(document.documentElement).getPropertyValue("--" + name).trim() || "#71717a";
  }

  function colour(role) { return css(role || "primary"); }

  function dataset(series, type) {
    var base = { label: series.label, data: series.data, borderWidth: type === "line" ? 2 : 0 };
    if (series.roles) {
      base.backgroundColor = series.roles.map(colour);
      base.borderColor = css("surface");
      base.borderWidth = 2;
    } else {
      base.backgroundColor = colour(series.role);
      base.borderColor = colour(series.role);
      if (type === "line") { base.tension = 0.25; base.pointRadius = 2; base.fill = false; }
    }
    return base;
  }

  function draw(canvas) {
    var source = document.getElementById(canvas.getAttribute("data-chart"));
    if (!source) { return; }
    var spec = JSON.parse(source.textContent);
    var text = css("text");
    var grid = css("border");
    var round = spec.type === "doughnut";
    var axes = round ? {} : {
      x: { stacked: !!spec.stacked, ticks: { color: text, precision: 0 }, grid: { color: grid } },
      y: { stacked: !!spec.stacked, ticks: { color: text, precision: 0 }, grid: { color: grid }, beginAtZero: true }
    };
    var chart = new window.Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: spec.series.map(function (s) { return dataset(s, spec.type); }) },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        indexAxis: spec.horizontal ? "y" : "x",
        scales: axes,
        plugins: {
          legend: { display: round || spec.series.length > 1, position: round ? "right" : "top", labels: { color: text } }
        }
      }
    });
    canvas.setAttribute("data-rendered", "true");
    charts.push(chart);
  }

  function drawAll() {
    charts.forEach(function (chart) { chart.destroy(); });
    charts = [];
    document.querySelectorAll("canvas[data-chart]").forEach(draw);
  }

  drawAll();
  document.addEventListener("sms-tracking:theme", drawAll);
})();
