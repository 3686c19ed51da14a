// Hyprstream web console. Talks only to this server's /api/ (docs/console.md); the bearer token
// lives in this tab's sessionStorage and is sent as an Authorization header, never as a cookie.
(function () {
  'use strict';

  var TOKEN_KEY = 'hyprstream.token';
  var USER_KEY = 'hyprstream.user';
  var HISTORY_KEY = 'hyprstream.history';
  var HISTORY_MAX = 50;
  var CHART_WINDOWS = 36;
  var COLORS = ['#2f6fde', '#e8590c', '#0ca678', '#ae3ec9', '#f59f00', '#1098ad', '#d6336c', '#5c940d'];
  var AGGREGATE = /_(count|sum|avg|min|max|stddev|slope|intercept)$/;

  var state = {
    info: null,
    tables: [],
    editor: null,
    lastSql: null,
    loaded: 0,
    chart: null,
    chartKey: '',
    chartBusy: false,
    rates: null,
    backlog: null,
    view: 'chart'
  };

  function $(id) { return document.getElementById(id); }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }

  // ---------------------------------------------------------------------------------------------
  // API

  function ApiError(status, code, message) {
    this.status = status;
    this.code = code;
    this.message = message;
  }

  function token() { return sessionStorage.getItem(TOKEN_KEY); }

  function api(method, path, body, headers) {
    var h = headers || {};
    var t = token();
    if (t && !h.Authorization) { h.Authorization = 'Bearer ' + t; }
    if (body !== undefined) { h['Content-Type'] = 'application/json'; }
    return fetch(path, {
      method: method,
      headers: h,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store'
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (json) {
        if (!r.ok) {
          var e = json.error || {};
          if (r.status === 401 && path !== '/api/login') { showLogin(e.message); }
          throw new ApiError(r.status, e.code || ('HTTP ' + r.status), e.message || r.statusText);
        }
        return json;
      });
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Login

  function base64(text) {
    var bytes = new TextEncoder().encode(text);
    var bin = '';
    bytes.forEach(function (b) { bin += String.fromCharCode(b); });
    return btoa(bin);
  }

  function showLogin(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(USER_KEY);
    $('login').hidden = false;
    var err = $('login-error');
    if (message && $('login-user').value) {
      err.textContent = message;
      err.hidden = false;
    }
    $('login-user').focus();
  }

  function login(event) {
    event.preventDefault();
    var user = $('login-user').value;
    var password = $('login-password').value;
    $('login-error').hidden = true;
    api('POST', '/api/login', undefined, { Authorization: 'Basic ' + base64(user + ':' + password) })
      .then(function (r) {
        sessionStorage.setItem(TOKEN_KEY, r.token);
        sessionStorage.setItem(USER_KEY, JSON.stringify([r.user, r.role]));
        $('login-password').value = '';
        $('login').hidden = true;
        signedIn(r.user, r.role);
        start();
      })
      .catch(function (e) {
        $('login-error').textContent = e.message;
        $('login-error').hidden = false;
      });
  }

  function signedIn(user, role) {
    $('whoami').textContent = user ? user + ' (' + role + ')' : '';
    $('logout').hidden = !state.info.auth;
  }

  function logout() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(USER_KEY);
    $('whoami').textContent = '';
    $('logout').hidden = true;
    showLogin();
  }

  // ---------------------------------------------------------------------------------------------
  // Tables

  function formatCount(n) {
    if (n === null || n === undefined) { return '\u2013'; }
    return Number(n).toLocaleString('en-US');
  }

  function formatBytes(n) {
    if (n === null || n === undefined) { return null; }
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    var i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? n : n.toFixed(1)) + ' ' + units[i];
  }

  var KIND_TITLES = {
    table: 'Tables', window_view: 'Window views', backend_table: 'Backend tables',
    system_table: 'System tables'
  };

  function loadTables() {
    return api('GET', '/api/tables').then(function (r) {
      state.tables = r.tables;
      renderTables();
      fillChartTables();
    }).catch(function (e) {
      if (e.status !== 401) { $('tables').textContent = e.message; }
    });
  }

  function renderTables() {
    var box = $('tables');
    box.textContent = '';
    ['table', 'window_view', 'system_table', 'backend_table'].forEach(function (kind) {
      var list = state.tables.filter(function (t) { return t.kind === kind; });
      if (!list.length) { return; }
      box.appendChild(el('div', 'kind', KIND_TITLES[kind]));
      list.forEach(function (t) {
        var d = el('details', 'table');
        d.dataset.table = t.name;
        var s = el('summary');
        s.appendChild(el('span', 'table-name', t.name));
        var meta = formatCount(t.rows) + ' rows';
        var bytes = formatBytes(t.hot_bytes);
        if (bytes) { meta += ' \u00b7 ' + bytes; }
        s.appendChild(el('span', 'table-meta', meta));
        s.addEventListener('dblclick', function () {
          setSql('SELECT * FROM ' + quoteIdent(t.name) + ' LIMIT 100');
          showView('query');
        });
        d.appendChild(s);
        var ul = el('ul', 'columns');
        t.columns.forEach(function (c) {
          var li = el('li');
          li.appendChild(el('span', null, c.name));
          li.appendChild(el('span', 'col-type', c.type + (c.nullable ? '' : ' NOT NULL')));
          ul.appendChild(li);
        });
        d.appendChild(ul);
        box.appendChild(d);
      });
    });
  }

  function quoteIdent(name) {
    return /^[a-z_][a-z0-9_]*$/.test(name) ? name : '"' + name.replace(/"/g, '""') + '"';
  }

  function quoteLiteral(text) { return "'" + String(text).replace(/'/g, "''") + "'"; }

  // ---------------------------------------------------------------------------------------------
  // Query

  function loadHistory() {
    try { return JSON.parse(localStorage.getItem(HISTORY_KEY) || '[]'); } catch (e) { return []; }
  }

  function remember(sql) {
    var h = loadHistory().filter(function (s) { return s !== sql; });
    h.unshift(sql);
    localStorage.setItem(HISTORY_KEY, JSON.stringify(h.slice(0, HISTORY_MAX)));
    renderHistory();
  }

  function renderHistory() {
    var select = $('history');
    select.textContent = '';
    var first = el('option', null, loadHistory().length ? 'Recent statements\u2026' : 'No history yet');
    first.value = '';
    select.appendChild(first);
    loadHistory().forEach(function (sql, i) {
      var o = el('option', null, sql.replace(/\s+/g, ' ').slice(0, 90));
      o.value = String(i);
      select.appendChild(o);
    });
  }

  function setSql(sql) {
    if (state.editor) { state.editor.setValue(sql); } else { $('sql').value = sql; }
  }

  function currentSql() {
    if (!state.editor) { return $('sql').value; }
    var selected = state.editor.getSelection();
    return selected.trim() ? selected : state.editor.getValue();
  }

  function run() {
    var sql = currentSql().trim();
    if (!sql) { return; }
    remember(sql);
    state.lastSql = sql;
    state.loaded = 0;
    $('grid').textContent = '';
    $('more').hidden = true;
    fetchPage(sql, 0, true);
  }

  function fetchPage(sql, offset, fresh) {
    var limit = Number($('limit').value);
    $('query-error').hidden = true;
    $('query-status').textContent = 'Running\u2026';
    $('run').disabled = true;
    var started = performance.now();
    api('POST', '/api/query', { sql: sql, limit: limit, offset: offset })
      .then(function (r) {
        var roundTrip = performance.now() - started;
        if (r.kind === 'update') {
          $('freshness').textContent = '';
          $('query-status').textContent = r.updated + ' row' + (r.updated === 1 ? '' : 's') +
            ' changed \u00b7 ' + r.elapsed_ms.toFixed(1) + ' ms';
          loadTables();
          return;
        }
        renderRows(r, fresh);
        state.loaded = offset + r.rows.length;
        $('more').hidden = !r.more;
        $('query-status').textContent = state.loaded.toLocaleString('en-US') + ' row' +
          (state.loaded === 1 ? '' : 's') + (r.more ? ' (more available)' : '') + ' \u00b7 ' +
          r.elapsed_ms.toFixed(1) + ' ms on the server, ' + roundTrip.toFixed(0) + ' ms here';
        renderFreshness(r.freshness);
      })
      .catch(function (e) {
        $('query-status').textContent = '';
        var box = $('query-error');
        box.textContent = e.code + ': ' + e.message;
        box.hidden = false;
      })
      .finally(function () { $('run').disabled = false; });
  }

  function renderFreshness(f) {
    var box = $('freshness');
    box.textContent = '';
    if (!f) { return; }
    box.appendChild(el('span', 'pill', 'source: ' + f.source));
    box.appendChild(el('span', 'pill', 'as_of: ' + (f.as_of || 'unknown')));
    box.appendChild(el('span', 'pill ' + (f.stale ? 'stale' : 'fresh'), f.stale ? 'stale' : 'not stale'));
    if (f.result_cache_hit) { box.appendChild(el('span', 'pill', 'from the result cache')); }
    if (f.missing) { box.appendChild(el('span', 'pill stale', 'missing: ' + f.missing)); }
  }

  function renderRows(r, fresh) {
    var table = $('grid');
    if (fresh) {
      table.textContent = '';
      var head = el('thead');
      var tr = el('tr');
      r.columns.forEach(function (c) {
        var th = el('th', null, c.name);
        th.appendChild(el('span', 'col-type', c.type));
        tr.appendChild(th);
      });
      head.appendChild(tr);
      table.appendChild(head);
      table.appendChild(el('tbody'));
    }
    var body = table.tBodies[0];
    var fragment = document.createDocumentFragment();
    r.rows.forEach(function (row) {
      var tr = el('tr');
      row.forEach(function (v) {
        var td;
        if (v === null) {
          td = el('td', 'null', 'NULL');
        } else if (typeof v === 'number') {
          td = el('td', 'num', String(v));
        } else {
          td = el('td', null, typeof v === 'object' ? JSON.stringify(v) : v);
        }
        tr.appendChild(td);
      });
      fragment.appendChild(tr);
    });
    body.appendChild(fragment);
  }

  // ---------------------------------------------------------------------------------------------
  // Live chart

  function windowViews() {
    return state.tables.filter(function (t) { return t.kind === 'window_view'; });
  }

  /** Base tables with window views, and each one's views by window size. */
  function chartSources() {
    var byTable = {};
    windowViews().forEach(function (v) {
      var at = v.name.lastIndexOf('_');
      if (at < 1) { return; }
      var base = v.name.slice(0, at);
      (byTable[base] = byTable[base] || []).push({ window: v.name.slice(at + 1), view: v });
    });
    return byTable;
  }

  function windowSeconds(w) {
    var m = /^(\d+)(s|m|h|d|w)$/.exec(w);
    if (!m) { return 0; }
    return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2]];
  }

  function fillSelect(select, values, keep) {
    var previous = keep ? select.value : null;
    select.textContent = '';
    values.forEach(function (v) { select.appendChild(el('option', null, v)); });
    if (previous && values.indexOf(previous) >= 0) { select.value = previous; }
  }

  function fillChartTables() {
    var sources = chartSources();
    var names = Object.keys(sources).sort();
    fillSelect($('chart-table'), names, true);
    fillChartWindows();
  }

  function fillChartWindows() {
    var list = chartSources()[$('chart-table').value] || [];
    list.sort(function (a, b) { return windowSeconds(a.window) - windowSeconds(b.window); });
    fillSelect($('chart-window'), list.map(function (x) { return x.window; }), true);
    var view = currentView();
    var values = [];
    if (view) {
      view.columns.forEach(function (c) {
        var m = /^(.*)_avg$/.exec(c.name);
        if (m) { values.push(m[1]); }
      });
    }
    fillSelect($('chart-value'), values, true);
    loadKeys();
  }

  function currentView() {
    var name = $('chart-table').value + '_' + $('chart-window').value;
    return state.tables.filter(function (t) { return t.name === name; })[0] || null;
  }

  function keyColumns(view) {
    return view.columns.filter(function (c) {
      return c.name !== 'window_start' && c.name !== 'window_end' && !AGGREGATE.test(c.name);
    }).map(function (c) { return c.name; });
  }

  function keyExpression(view) {
    var cols = keyColumns(view).map(quoteIdent);
    return cols.length === 1 ? cols[0] : "concat_ws(' / ', " + cols.join(', ') + ')';
  }

  function loadKeys() {
    var view = currentView();
    var box = $('chart-keys');
    if (!view) { box.textContent = 'no window views'; return; }
    var checked = {};
    box.querySelectorAll('input:checked').forEach(function (i) { checked[i.value] = true; });
    var sql = 'SELECT DISTINCT ' + keyExpression(view) + ' AS k FROM ' + quoteIdent(view.name) +
      ' ORDER BY 1 LIMIT 200';
    api('POST', '/api/query', { sql: sql, limit: 200 }).then(function (r) {
      var keys = r.rows.map(function (row) { return String(row[0]); });
      var any = keys.some(function (k) { return checked[k]; });
      box.textContent = '';
      keys.forEach(function (k, i) {
        var label = el('label');
        var input = el('input');
        input.type = 'checkbox';
        input.value = k;
        input.checked = any ? !!checked[k] : i < 3;
        input.addEventListener('change', refreshChart);
        label.appendChild(input);
        label.appendChild(document.createTextNode(' ' + k));
        box.appendChild(label);
      });
      state.chartKey = '';
      refreshChart();
    }).catch(function (e) { $('chart-status').textContent = e.code + ': ' + e.message; });
  }

  function selectedKeys() {
    var keys = [];
    $('chart-keys').querySelectorAll('input:checked').forEach(function (i) { keys.push(i.value); });
    return keys;
  }

  function refreshChart() {
    var view = currentView();
    var keys = selectedKeys();
    var value = $('chart-value').value;
    if (!view || !keys.length || !value || state.chartBusy) {
      if (view && !keys.length) { $('chart-status').textContent = 'Pick one or more keys.'; }
      return;
    }
    state.chartBusy = true;
    var k = keyExpression(view);
    var v = quoteIdent(value + '_avg');
    var lo = quoteIdent(value + '_min');
    var hi = quoteIdent(value + '_max');
    var n = quoteIdent(value + '_count');
    var sql = 'SELECT ' + k + ' AS k, epoch_ms(window_start) AS t, ' + v + ' AS avg, ' + lo +
      ' AS lo, ' + hi + ' AS hi, ' + n + ' AS n FROM ' + quoteIdent(view.name) + ' WHERE ' + k +
      ' IN (' + keys.map(quoteLiteral).join(', ') + ') QUALIFY row_number() OVER (PARTITION BY ' +
      k + ' ORDER BY window_start DESC) <= ' + CHART_WINDOWS + ' ORDER BY t';
    api('POST', '/api/query', { sql: sql, limit: 10000 })
      .then(function (r) { drawChart(view, value, keys, r); })
      .catch(function (e) { $('chart-status').textContent = e.code + ': ' + e.message; })
      .finally(function () { state.chartBusy = false; });
  }

  function drawChart(view, value, keys, r) {
    var times = [];
    var seen = {};
    r.rows.forEach(function (row) {
      if (!seen[row[1]]) { seen[row[1]] = true; times.push(row[1]); }
    });
    times.sort(function (a, b) { return a - b; });
    var index = {};
    times.forEach(function (t, i) { index[t] = i; });
    var data = [times.map(function (t) { return t / 1000; })];
    var series = [{}];
    var bands = [];
    var last = {};
    keys.forEach(function (key, ki) {
      var avg = new Array(times.length).fill(null);
      var lo = new Array(times.length).fill(null);
      var hi = new Array(times.length).fill(null);
      r.rows.forEach(function (row) {
        if (String(row[0]) !== key) { return; }
        var i = index[row[1]];
        avg[i] = num(row[2]);
        lo[i] = num(row[3]);
        hi[i] = num(row[4]);
        last[key] = { t: row[1], avg: row[2], n: row[5] };
      });
      var color = COLORS[ki % COLORS.length];
      var base = data.length;
      data.push(hi, lo, avg);
      series.push(
        { label: key + ' max', stroke: color + '55', width: 1, points: { show: false } },
        { label: key + ' min', stroke: color + '55', width: 1, points: { show: false } },
        { label: key + ' avg', stroke: color, width: 2 });
      bands.push({ series: [base, base + 1], fill: color + '22' });
    });
    var box = $('chart');
    box.dataset.points = String(r.rows.length);
    box.dataset.last = JSON.stringify(last);
    var shape = view.name + '|' + value + '|' + keys.join(',');
    if (state.chart && state.chartKey === shape) {
      state.chart.setData(data);
    } else {
      if (state.chart) { state.chart.destroy(); }
      box.textContent = '';
      state.chart = new uPlot({
        width: Math.max(400, box.clientWidth - 16),
        height: 380,
        series: series,
        bands: bands,
        axes: [{ space: 80 }, { label: value + '_avg (band: min to max)', size: 70 }],
        scales: { x: { time: true } }
      }, data, box);
      state.chartKey = shape;
    }
    var summary = keys.map(function (k) {
      var l = last[k];
      return l ? k + ' ' + Number(l.avg).toFixed(2) + ' (n=' + l.n + ')' : k + ' no rows';
    }).join(' \u00b7 ');
    $('chart-status').textContent = 'Newest window of ' + view.name + ': ' + summary +
      ' \u00b7 updated ' + new Date().toLocaleTimeString('en-GB');
  }

  function num(v) {
    if (v === null || v === undefined) { return null; }
    var n = Number(v);
    return isFinite(n) ? n : null;
  }

  // ---------------------------------------------------------------------------------------------
  // Server panel

  function card(label, value, sub) {
    var c = el('div', 'card');
    c.appendChild(el('div', 'label', label));
    c.appendChild(el('div', 'value', value));
    if (sub) { c.appendChild(el('div', 'sub', sub)); }
    return c;
  }

  function lastOf(list) { return list && list.length ? list[list.length - 1] : null; }

  function fixed(v, digits) { return v === null || v === undefined ? '\u2013' : Number(v).toFixed(digits); }

  function percent(v) { return v === null || v === undefined ? '\u2013' : (v * 100).toFixed(1) + ' %'; }

  function loadServer() {
    api('GET', '/api/server').then(function (r) {
      var s = r.series;
      var cards = $('cards');
      cards.textContent = '';
      cards.appendChild(card('Ingest', fixed(lastOf(s.ingest_rows_per_s), 0) + ' rows/s', 'hyprstream.ingest.rows'));
      cards.appendChild(card('Queries', fixed(lastOf(s.queries_per_s), 1) + ' /s', 'hyprstream.query.latency count'));
      cards.appendChild(card('Write-through backlog',
        r.writethrough.backlog_rows === null ? 'no backend' : formatCount(r.writethrough.backlog_rows) + ' rows',
        formatBytes(r.writethrough.backlog_bytes)));
      cards.appendChild(card('Write-through lag',
        r.writethrough.lag_s === null ? 'no backend' : fixed(r.writethrough.lag_s, 1) + ' s'));
      cards.appendChild(card('Cache hit ratio',
        r.cache.table_hit_ratio === null ? 'no lookups yet' : percent(r.cache.table_hit_ratio),
        'tables; result cache: ' + (r.cache.result_hit_ratio === null ? 'no lookups yet' : percent(r.cache.result_hit_ratio))));
      cards.appendChild(card('JVM heap', formatBytes(r.memory.jvm_heap_used_bytes),
        'of ' + formatBytes(r.memory.jvm_heap_max_bytes)));
      cards.appendChild(card('Arrow memory', formatBytes(r.memory.arrow_bytes) || '\u2013'));
      cards.appendChild(card('DuckDB memory', formatBytes(r.memory.duckdb_bytes) || '\u2013'));
      cards.appendChild(card('Hot rows', formatBytes(r.memory.hot_rows_bytes) || '\u2013'));
      cards.appendChild(card('Window state', formatBytes(r.memory.window_state_bytes) || '\u2013'));
      var t = s.time_ms.map(function (x) { return x / 1000; });
      state.rates = plot(state.rates, 'rates-chart', [t, s.ingest_rows_per_s, s.queries_per_s],
        [{}, { label: 'ingest rows/s', stroke: COLORS[0], scale: 'rows' },
          { label: 'queries/s', stroke: COLORS[1], scale: 'q' }],
        [{}, { scale: 'rows', size: 70 }, { scale: 'q', side: 1, size: 50, grid: { show: false } }]);
      var backend = r.writethrough.backlog_rows !== null;
      $('backlog-chart').hidden = !backend;
      $('backlog-none').hidden = backend;
      if (backend) {
        state.backlog = plot(state.backlog, 'backlog-chart', [t, s.backlog_rows, s.lag_s],
          [{}, { label: 'backlog rows', stroke: COLORS[2], scale: 'rows' },
            { label: 'lag s', stroke: COLORS[3], scale: 's' }],
          [{}, { scale: 'rows', size: 70 }, { scale: 's', side: 1, size: 50, grid: { show: false } }]);
      }
      $('server-status').textContent = 'Sampled once a second by the server; updated ' +
        new Date().toLocaleTimeString('en-GB');
    }).catch(function (e) { $('server-status').textContent = e.code + ': ' + e.message; });
  }

  function plot(existing, id, data, series, axes) {
    if (existing) { existing.setData(data); return existing; }
    var box = $(id);
    box.textContent = '';
    return new uPlot({
      width: Math.max(400, box.clientWidth - 16),
      height: 160,
      series: series,
      axes: axes,
      scales: { x: { time: true } }
    }, data, box);
  }

  // ---------------------------------------------------------------------------------------------
  // Page

  function showView(name) {
    state.view = name;
    document.querySelectorAll('.view').forEach(function (v) {
      v.classList.toggle('active', v.id === 'view-' + name);
    });
    document.querySelectorAll('.tab').forEach(function (t) {
      t.classList.toggle('active', t.dataset.view === name);
    });
    if (name === 'query' && state.editor) { state.editor.refresh(); }
    if (name === 'server') { loadServer(); }
    if (name === 'chart') { state.chartKey = ''; refreshChart(); }
  }

  var started = false;

  function start() {
    loadTables();
    if (started) { return; }
    started = true;
    setInterval(function () {
      if (!token() && state.info.auth) { return; }
      if (state.view === 'chart') { refreshChart(); }
      if (state.view === 'server') { loadServer(); }
    }, 1000);
  }

  function init() {
    state.editor = CodeMirror.fromTextArea($('sql'), {
      mode: 'text/x-sql',
      lineNumbers: true,
      matchBrackets: true,
      indentWithTabs: false,
      extraKeys: { 'Ctrl-Enter': run, 'Cmd-Enter': run }
    });
    renderHistory();
    $('history').addEventListener('change', function (e) {
      var i = e.target.value;
      if (i !== '') { setSql(loadHistory()[Number(i)]); e.target.value = ''; state.editor.focus(); }
    });
    $('run').addEventListener('click', run);
    $('more').addEventListener('click', function () { fetchPage(state.lastSql, state.loaded, false); });
    $('login-form').addEventListener('submit', login);
    $('logout').addEventListener('click', logout);
    $('tables-refresh').addEventListener('click', loadTables);
    $('chart-table').addEventListener('change', fillChartWindows);
    $('chart-window').addEventListener('change', loadKeys);
    $('chart-value').addEventListener('change', function () { state.chartKey = ''; refreshChart(); });
    document.querySelectorAll('.tab').forEach(function (t) {
      t.addEventListener('click', function () { showView(t.dataset.view); });
    });
    showView(location.hash === '#query' ? 'query' : location.hash === '#server' ? 'server' : 'chart');
    api('GET', '/api/info').then(function (info) {
      state.info = info;
      if (info.auth && !token()) { showLogin(); return; }
      if (info.auth) {
        var who = JSON.parse(sessionStorage.getItem(USER_KEY) || '["", ""]');
        signedIn(who[0], who[1]);
      } else {
        signedIn('', '');
      }
      start();
    });
  }

  document.addEventListener('DOMContentLoaded', init);
}());
