/* global document, window */
// Rampart console: charts from the JSON the server embeds, and keyboard shortcuts on the review queue.
(function () {
  'use strict';
  var COLORS = ['#0550ae', '#bc4c00', '#116329', '#8250df', '#a40e26', '#57606a', '#0a7ea4', '#953800'];
  var data = document.getElementById('chart-data');
  if (data && window.uPlot) {
    JSON.parse(data.textContent || '[]').forEach(function (c) {
      var el = document.querySelector('[data-chart="' + c.id + '"]');
      if (!el || c.series.length === 0) return;
      var width = Math.min(900, Math.max(320, el.clientWidth || 800));
      var opts = {
        title: c.title,
        width: width,
        height: 260,
        scales: { x: { time: !!c.time } },
        axes: [{ label: c.xLabel }, { label: c.yLabel }],
        series: [{ label: c.xLabel }].concat(
          c.series.map(function (s, i) {
            return { label: s.label, stroke: COLORS[i % COLORS.length], width: 2, spanGaps: true, points: { show: c.x.length < 60 } };
          }),
        ),
      };
      new window.uPlot(
        opts,
        [c.x].concat(
          c.series.map(function (s) {
            return s.y;
          }),
        ),
        el,
      );
    });
  }

  // Review queue: j/k move, a = attack, b = benign, r = relabel, x = tick for a batch action.
  var items = Array.prototype.slice.call(document.querySelectorAll('.review-item'));
  if (items.length === 0) return;
  var at = 0;
  function select(i) {
    at = Math.max(0, Math.min(items.length - 1, i));
    items.forEach(function (el, j) {
      el.classList.toggle('selected', j === at);
    });
    items[at].scrollIntoView({ block: 'nearest' });
  }
  select(0);
  document.addEventListener('keydown', function (e) {
    var t = e.target;
    if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT')) return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var item = items[at];
    var verdict = { a: 'attack', b: 'benign', r: 'relabel' }[e.key];
    if (e.key === 'j') select(at + 1);
    else if (e.key === 'k') select(at - 1);
    else if (e.key === 'x') {
      var box = item.querySelector('input[type=checkbox]');
      if (box) box.checked = !box.checked;
    } else if (verdict) {
      var form = item.querySelector('form.decide');
      if (!form) return;
      form.querySelector('select[name=verdict]').value = verdict;
      var reason = form.querySelector('input[name=reason]');
      reason.focus();
    } else return;
    e.preventDefault();
  });
})();
