/*
 * chart.js: one chart per metric on the patient view, drawn by the vendored
 * uPlot (web/vendor/uplot). On top of uPlot's line it draws what a nurse
 * reads first: the patient's yellow and red limits as bands, each point
 * coloured by the band it falls in, and hatched stretches where a
 * measurement was missing for longer than the patient's missing.M limit.
 */
"use strict";

const Chart = (() => {
  const COLOURS = {
    line: "#1d4f91",
    red: "#b00020", yellow: "#f2c200", yellowEdge: "#8a6d00",
    redBand: "rgba(176, 0, 32, 0.16)", yellowBand: "rgba(242, 194, 0, 0.28)",
    missing: "rgba(90, 90, 90, 0.55)",
  };

  /* The severity of a value against threshold limits ([{severity, op, value}]):
   * the highest band it meets, as the rule engine decides. */
  function severity(limits, v) {
    let best = null;
    for (const l of limits) {
      const met = l.op === "<" ? v < l.value : l.op === "<=" ? v <= l.value
        : l.op === ">" ? v > l.value : l.op === ">=" ? v >= l.value : false;
      if (met && (best === null || l.severity === "red")) best = l.severity;
    }
    return best;
  }

  /* Stretches longer than maxGap seconds without a reading, from start
   * (the follow-up's start) to now, as the hub counts silence: since the
   * last reading or since the start, whichever is later. times are sorted. */
  function gaps(times, maxGap, start, now) {
    const out = [];
    if (!maxGap) return out;
    let prev = start;
    for (const t of times) {
      if (t - prev > maxGap) out.push([prev, t]);
      prev = Math.max(prev, t);
    }
    if (now - prev > maxGap) out.push([prev, now]);
    return out;
  }

  /* Midnight in Oslo of each day in [from, to] (seconds), every step days:
   * the x axis's ticks, whatever the browser's own time zone. */
  function midnights(from, to, step) {
    const parts = (secs) => {
      const o = {};
      for (const p of new Intl.DateTimeFormat("en-GB", { timeZone: I18N.TZ, hourCycle: "h23",
        year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" })
        .formatToParts(new Date(secs * 1000))) o[p.type] = Number(p.value);
      return o;
    };
    const out = [];
    for (let day = from - 86400; day <= to + 86400; day += 86400) {
      const p = parts(day);
      /* The offset of Oslo from UTC at that moment, then its midnight. */
      const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute) / 1000;
      const off = asUtc - Math.floor(day / 60) * 60;
      const mid = Date.UTC(p.year, p.month - 1, p.day) / 1000 - off;
      if (mid >= from && mid <= to && !out.includes(mid)) out.push(mid);
    }
    return out.filter((_, i) => i % step === (out.length - 1) % step);
  }

  /* The y range: the readings and the limits, with room around them. */
  function yRange(values, limits) {
    const all = values.concat(limits.map((l) => l.value));
    if (!all.length) return [0, 1];
    let lo = Math.min(...all), hi = Math.max(...all);
    const pad = Math.max((hi - lo) * 0.12, Math.abs(hi) * 0.02, 1);
    return [lo - pad, hi + pad];
  }

  /* The bands: for a lower limit the red band runs from the bottom to the
   * red limit and the yellow one from there to the yellow limit; the same
   * upwards for an upper limit. */
  function bands(limits, lo, hi) {
    const out = [];
    for (const side of ["low", "high"]) {
      const ls = limits.filter((l) => (side === "low") === (l.op === "<" || l.op === "<="));
      const red = ls.find((l) => l.severity === "red");
      const yellow = ls.find((l) => l.severity === "yellow");
      const edge = side === "low" ? lo : hi;
      if (red) out.push({ severity: "red", from: edge, to: red.value });
      if (yellow) out.push({ severity: "yellow", from: red ? red.value : edge, to: yellow.value });
    }
    return out;
  }

  function hatch(ctx, x0, x1, top, height) {
    ctx.save();
    ctx.beginPath();
    ctx.rect(x0, top, x1 - x0, height);
    ctx.clip();
    ctx.fillStyle = "rgba(200, 200, 200, 0.35)";
    ctx.fillRect(x0, top, x1 - x0, height);
    ctx.strokeStyle = COLOURS.missing;
    ctx.lineWidth = 1;
    for (let x = x0 - height; x < x1; x += 8) {
      ctx.beginPath();
      ctx.moveTo(x, top + height);
      ctx.lineTo(x + height, top);
      ctx.stroke();
    }
    ctx.restore();
  }

  /*
   * Draws one chart into el. opts: metric, unit, readings (objects with
   * value and measured_at, any order, also before the view), limits
   * ([{severity, op, value}]), maxGap (seconds, or 0), start (seconds: the
   * follow-up's start, or null), from and to (seconds: the view). Returns a
   * summary for the chart's text alternative.
   */
  function draw(el, opts) {
    const all = opts.readings
      .map((r) => ({ t: Date.parse(r.measured_at) / 1000, v: r.value }))
      .filter((r) => isFinite(r.t) && typeof r.v === "number" && r.t <= opts.to)
      .sort((a, b) => a.t - b.t);
    const rows = all.filter((r) => r.t >= opts.from);
    /* Silence counts from the follow-up's start (else from the first
     * reading we have), and only the part of it inside the view is drawn. */
    const start = opts.start !== null && opts.start !== undefined ? opts.start : (all.length ? all[0].t : opts.to);
    const missing = gaps(all.map((r) => r.t), opts.maxGap, start, opts.to)
      .map(([a, b]) => [Math.max(a, opts.from), b]).filter(([a, b]) => b > a);
    const [lo, hi] = yRange(rows.map((r) => r.v), opts.limits);

    /* Series 1 is the line, broken (a null) inside each missing stretch so
     * that it never draws across a gap; series 2 and 3 are the yellow and
     * red points alone. */
    const xs = [], line = [], ys = [], rs = [];
    let yellow = 0, red = 0;
    rows.forEach((r, i) => {
      if (i > 0 && missing.some(([a, b]) => a >= rows[i - 1].t && b <= r.t)) {
        xs.push((rows[i - 1].t + r.t) / 2); line.push(null); ys.push(null); rs.push(null);
      }
      const sev = severity(opts.limits, r.v);
      xs.push(r.t); line.push(r.v);
      ys.push(sev === "yellow" ? r.v : null);
      rs.push(sev === "red" ? r.v : null);
      if (sev === "yellow") yellow++;
      if (sev === "red") red++;
    });

    const width = Math.max(280, el.clientWidth || 600);
    const days = (opts.to - opts.from) / 86400;
    const ticks = midnights(opts.from, opts.to, days > 10 ? 5 : 1);
    const fmtTick = (secs) => new Intl.DateTimeFormat(I18N.lang === "en" ? "en-GB" : "nb-NO",
      { timeZone: I18N.TZ, day: "numeric", month: "short" }).format(new Date(secs * 1000));
    /* A little room after now, so that the latest point is not cut in half. */
    const right = opts.to + (opts.to - opts.from) * 0.015;
    const unit = I18N.unit(opts.unit);

    const chart = new uPlot({
      width: width,
      height: 230,
      legend: { show: false },
      cursor: { points: { size: 10 } },
      scales: { x: { time: true, range: () => [opts.from, right] }, y: { range: () => [lo, hi] } },
      axes: [
        { splits: () => ticks, values: (u, splits) => splits.map(fmtTick),
          stroke: "#1a1a1a", grid: { stroke: "#e3e3e3" }, ticks: { stroke: "#999" } },
        { values: (u, splits) => splits.map((s) => I18N.number(s)), label: unit, stroke: "#1a1a1a",
          grid: { stroke: "#e3e3e3" }, size: 56 },
      ],
      series: [
        {},
        { label: I18N.metricName(opts.metric), stroke: COLOURS.line, width: 2, spanGaps: false,
          points: { show: true, size: 6, fill: COLOURS.line, stroke: COLOURS.line } },
        { label: I18N.t("yellow"), stroke: COLOURS.yellowEdge, paths: () => null,
          points: { show: true, size: 11, width: 2, fill: COLOURS.yellow, stroke: COLOURS.yellowEdge } },
        { label: I18N.t("red"), stroke: COLOURS.red, paths: () => null,
          points: { show: true, size: 11, width: 2, fill: COLOURS.red, stroke: "#5c0011" } },
      ],
      hooks: {
        /* Bands and gaps go under the series: drawClear runs before them. */
        drawClear: [(u) => {
          const ctx = u.ctx;
          const { left, top, width: w, height: h } = u.bbox;
          ctx.save();
          for (const b of bands(opts.limits, lo, hi)) {
            const y0 = u.valToPos(Math.max(b.from, b.to), "y", true);
            const y1 = u.valToPos(Math.min(b.from, b.to), "y", true);
            ctx.fillStyle = b.severity === "red" ? COLOURS.redBand : COLOURS.yellowBand;
            ctx.fillRect(left, Math.max(top, y0), w, Math.min(top + h, y1) - Math.max(top, y0));
          }
          for (const l of opts.limits) {
            const y = u.valToPos(l.value, "y", true);
            ctx.strokeStyle = l.severity === "red" ? COLOURS.red : COLOURS.yellowEdge;
            ctx.setLineDash([6, 4]);
            ctx.lineWidth = 1.5 * devicePixelRatio;
            ctx.beginPath(); ctx.moveTo(left, y); ctx.lineTo(left + w, y); ctx.stroke();
          }
          ctx.setLineDash([]);
          for (const [a, b] of missing) {
            const x0 = u.valToPos(a, "x", true), x1 = u.valToPos(b, "x", true);
            hatch(ctx, Math.max(left, x0), Math.min(left + w, x1), top, h);
          }
          ctx.restore();
        }],
        /* The limit's words on its line, after the series, so that no point hides them. */
        draw: [(u) => {
          const ctx = u.ctx;
          ctx.save();
          ctx.font = `${12 * devicePixelRatio}px system-ui, sans-serif`;
          ctx.textAlign = "right";
          for (const l of opts.limits) {
            const y = u.valToPos(l.value, "y", true);
            const text = (l.severity === "red" ? I18N.t("band_red") : I18N.t("band_yellow")) + " " +
              I18N.number(l.value) + (unit ? " " + unit : "");
            const x = u.bbox.left + u.bbox.width - 4 * devicePixelRatio;
            const tw = ctx.measureText(text).width;
            ctx.fillStyle = "rgba(255,255,255,0.85)";
            ctx.fillRect(x - tw - 3, y - 15 * devicePixelRatio, tw + 6, 14 * devicePixelRatio);
            ctx.fillStyle = l.severity === "red" ? COLOURS.red : "#5c4800";
            ctx.fillText(text, x, y - 4 * devicePixelRatio);
          }
          ctx.restore();
        }],
      },
    }, [xs, line, ys, rs], el);

    return { chart, n: rows.length, yellow, red, gaps: missing.length };
  }

  return { draw, severity, gaps };
})();
