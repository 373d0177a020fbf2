// Time-series charts over uPlot (vendor/uPlot.min.js, a global): one chart per metric, resized
// with its container, colours from the page's light or dark palette.

function palette() {
  const css = getComputedStyle(document.documentElement);
  const v = (name) => css.getPropertyValue(name).trim();
  return { text: v('--muted'), grid: v('--grid'), series: [v('--c1'), v('--c2'), v('--c3'), v('--c4')] };
}

// `series`: [{ label, unit }] drawn over the x axis of unix seconds. Returns { update(data), destroy() }.
export function timeChart(container, title, series, { height = 180, unit = '' } = {}) {
  const colours = palette();
  const axis = { stroke: colours.text, grid: { stroke: colours.grid, width: 1 }, ticks: { stroke: colours.grid } };
  const options = {
    title,
    width: Math.max(container.clientWidth, 280),
    height,
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(max * 1.1, 1)] } },
    axes: [axis, { ...axis, size: 56, values: (u, ticks) => ticks.map((t) => `${+t.toFixed(2)}${unit}`) }],
    series: [{}, ...series.map((s, i) => ({
      label: s.label, stroke: colours.series[i % colours.series.length], width: 1.5,
      spanGaps: false, value: (u, v) => (v === null || v === undefined ? '–' : `${+v.toFixed(2)}${unit}`),
    }))],
  };
  const empty = [[], ...series.map(() => [])];
  const chart = new window.uPlot(options, empty, container);
  const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(container.clientWidth, 280), height }));
  resize.observe(container);
  return {
    update(data) { chart.setData(data); },
    destroy() { resize.disconnect(); chart.destroy(); },
  };
}
