/**
 * The web page: plain HTML and one script, no build step. The script lists the
 * domains, inlines each one's snapshot-graph SVG, and listens to /events
 * (Server-Sent Events): a snapshot or lifecycle event redraws that domain's tree;
 * a domain defined or undefined, or a reconnection, redraws the list. It never
 * polls.
 */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>virtsnap: snapshot trees</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #212529; background: #f8f9fa; }
h1 { font-size: 1.3em; margin: 0 0 .2em; }
#status { color: #495057; margin: 0 0 1em; font-size: .9em; }
#status.live::before { content: "\\25CF "; color: #2b8a3e; }
#status.down::before { content: "\\25CF "; color: #c92a2a; }
section { background: #fff; border: 1px solid #dee2e6; border-radius: 6px; padding: .5em 1em 1em; margin-bottom: 1em; overflow-x: auto; }
section h2 { font-size: 1.05em; margin: .4em 0; }
section h2 small { color: #868e96; font-weight: normal; }
.error { color: #c92a2a; }
</style>
</head>
<body>
<h1>virtsnap: snapshot trees</h1>
<p id="status">connecting...</p>
<main id="domains"></main>
<script src="/page.js"></script>
</body>
</html>
`;

export const PAGE_JS = `'use strict';
(function () {
  var list = document.getElementById('domains');
  var status = document.getElementById('status');
  var sections = new Map();
  var pending = new Map();
  var lastEvent = '';

  function setStatus(kind, text) {
    status.className = kind;
    status.textContent = text + (lastEvent ? ' | last event: ' + lastEvent : '');
  }

  function sectionFor(dom) {
    var s = sections.get(dom.name);
    if (!s) {
      s = document.createElement('section');
      s.id = 'domain-' + dom.uuid;
      s.setAttribute('data-domain', dom.name);
      var h = document.createElement('h2');
      h.textContent = dom.name + ' ';
      var small = document.createElement('small');
      small.textContent = dom.uuid;
      h.appendChild(small);
      var graph = document.createElement('div');
      graph.className = 'graph';
      s.appendChild(h);
      s.appendChild(graph);
      sections.set(dom.name, s);
    }
    return s;
  }

  function drawDomain(name) {
    var s = sections.get(name);
    if (!s) return Promise.resolve();
    return fetch('/api/graph.svg?domain=' + encodeURIComponent(name)).then(function (res) {
      if (res.status === 404) { s.remove(); sections.delete(name); return; }
      return res.text().then(function (text) {
        var graph = s.querySelector('.graph');
        if (res.ok) { graph.innerHTML = text; graph.classList.remove('error'); }
        else { graph.textContent = 'error ' + res.status + ': ' + text; graph.classList.add('error'); }
      });
    });
  }

  /** Several events for one domain in a burst: one redraw. */
  function redrawSoon(name) {
    if (pending.has(name)) return;
    pending.set(name, setTimeout(function () { pending.delete(name); drawDomain(name); }, 50));
  }

  function drawAll() {
    return fetch('/api/domains').then(function (res) { return res.json(); }).then(function (doms) {
      var names = new Set(doms.map(function (d) { return d.name; }));
      sections.forEach(function (s, name) { if (!names.has(name)) { s.remove(); sections.delete(name); } });
      doms.forEach(function (d) { list.appendChild(sectionFor(d)); });
      return Promise.all(doms.map(function (d) { return drawDomain(d.name); }));
    });
  }

  var events = new EventSource('/events');
  events.onopen = function () { setStatus('live', 'live'); drawAll(); };
  events.onerror = function () { setStatus('down', 'disconnected, reconnecting...'); };
  events.addEventListener('change', function (e) {
    var ev = JSON.parse(e.data);
    lastEvent = ev.domain.name + ' ' + (ev.action ? ev.action + ' ' + (ev.snapshot || '') : 'lifecycle') + ' at ' + ev.time;
    setStatus('live', 'live');
    // Lifecycle 0/1: defined/undefined: the list itself changed.
    if (ev.eventID === 0 && (ev.event === 0 || ev.event === 1)) drawAll();
    else redrawSoon(ev.domain.name);
  });
})();
`;
