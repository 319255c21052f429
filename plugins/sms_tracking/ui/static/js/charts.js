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
      if (type === "line") { base.tension = 0; base.pointRadius = 2; base.fill = false; base.spanGaps = false; }
    }
    return base;
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  /* A time chart's axis: linear in epoch milliseconds (no date adapter needed), ticks on whole UTC
     hours or days, at most about ten of them. */
  function timeAxis(spec, text, grid) {
    var unit = spec.time_unit_ms;
    var first = spec.x[0], last = spec.x[spec.x.length - 1];
    var day = 86400000;
    return {
      type: "linear",
      stacked: !!spec.stacked,
      min: first - unit / 2,
      max: last + unit / 2,
      grid: { color: grid },
      afterBuildTicks: function (scale) {
        var steps = [1, 2, 3, 6, 12, 24, 48, 72, 168, 336, 720].map(function (n) { return n * 3600000; });
        var step = unit;
        for (var i = 0; i < steps.length; i++) {
          if (steps[i] >= unit && (last - first) / steps[i] <= 10) { step = steps[i]; break; }
          step = steps[i];
        }
        var ticks = [];
        for (var v = Math.ceil(first / step) * step; v <= last; v += step) { ticks.push({ value: v }); }
        scale.ticks = ticks;
      },
      ticks: {
        color: text,
        maxRotation: 0,
        autoSkip: false,
        callback: function (value) {
          var d = new Date(value);
          var date = d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate());
          return unit >= day ? date : [pad(d.getUTCHours()) + ":00", date];
        }
      }
    };
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
    var datasets = spec.series.map(function (s) { return dataset(s, spec.type); });
    if (spec.x) {
      axes.x = timeAxis(spec, text, grid);
      datasets.forEach(function (d) { d.data = d.data.map(function (y, i) { return { x: spec.x[i], y: y }; }); });
    }
    var chart = new window.Chart(canvas, {
      type: spec.type,
      data: { labels: spec.x ? undefined : spec.labels, datasets: datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        indexAxis: spec.horizontal ? "y" : "x",
        scales: axes,
        plugins: {
          tooltip: spec.x ? { callbacks: { title: function (items) { return spec.labels[items[0].dataIndex] + " UTC"; } } } : {},
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
