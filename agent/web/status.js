// statewatchd's status page: what is watched, how it trends, what is firing. Plain DOM and
// fetch against the agent's own JSON API (same origin); no framework, nothing from a CDN.
"use strict";

const api = async (path) => {
  const res = await fetch(path);
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  const body = await res.json();
  if (body.status !== "success") throw new Error(`${path}: ${body.error}`);
  return body.data;
};

const el = (tag, attrs = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
};

// Numbers as Prometheus' humanize does: 1.5k, 2.3M; bytes series in binary units.
const humanize = (v, bytes) => {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  const base = bytes ? 1024 : 1000;
  const units = bytes ? ["B", "KiB", "MiB", "GiB", "TiB", "PiB"] : ["", "k", "M", "G", "T", "P"];
  let i = 0;
  let x = Math.abs(v);
  while (x >= base && i < units.length - 1) { x /= base; i++; }
  const text = (x >= 100 || i === 0 && Number.isInteger(x)) ? x.toFixed(0) : x.toPrecision(3);
  return (v < 0 ? "-" : "") + text + units[i];
};

const duration = (seconds) => {
  if (!Number.isFinite(seconds)) return "–";
  const parts = [];
  for (const [n, u] of [[86400, "d"], [3600, "h"], [60, "m"], [1, "s"]]) {
    if (seconds >= n || (u === "s" && parts.length === 0)) {
      parts.push(`${Math.floor(seconds / n)}${u}`);
      seconds %= n;
    }
    if (parts.length === 2) break;
  }
  return parts.join(" ");
};

const isBytes = (series) => series.endsWith("_bytes");
const stateName = (labels) => labels.state || labels.cf || labels.path || "(series)";
const labelsKey = (labels) =>
  Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(",");

const ttlText = (ttl, series) => {
  if (ttl === null || ttl === undefined) return "unknown";
  if (ttl === 0) return "none";
  // statewatch_rocksdb_ttl_compaction_filter is a flag, not a duration.
  if (series.startsWith("statewatch_rocksdb_")) return "filter set";
  return duration(ttl);
};

const sparkline = (values) => {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("class", "spark");
  svg.setAttribute("viewBox", "0 0 160 28");
  if (values.length < 2) return svg;
  const t0 = values[0][0], t1 = values[values.length - 1][0];
  const ys = values.map((p) => Number(p[1]));
  const lo = Math.min(...ys), hi = Math.max(...ys);
  const points = values.map(([t, v]) => {
    const x = t1 > t0 ? ((t - t0) / (t1 - t0)) * 158 + 1 : 80;
    const y = hi > lo ? 27 - ((Number(v) - lo) / (hi - lo)) * 26 : 14;
    return `${x.toFixed(1)},${y.toFixed(1)}`;
  });
  const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
  line.setAttribute("points", points.join(" "));
  svg.append(line);
  return svg;
};

const labelCodes = (labels, skip) => {
  const td = el("td", { class: "labels" });
  for (const [k, v] of Object.entries(labels)) {
    if (!skip.includes(k)) td.append(el("code", {}, `${k}=${v}`));
  }
  return td;
};

async function renderAlerts() {
  const { alerts } = await api("api/v1/alerts");
  const body = document.querySelector("#alerts tbody");
  body.replaceChildren();
  for (const a of alerts) {
    body.append(el("tr", { "data-fingerprint": a.fingerprint },
      el("td", {}, a.labels.alertname),
      el("td", { class: `state state-${a.state}` }, a.state),
      el("td", {}, a.firedAt || a.activeAt),
      labelCodes(a.labels, ["alertname"]),
      el("td", {}, a.annotations.summary || "")));
  }
  document.getElementById("no-alerts").hidden = alerts.length > 0;
  return alerts;
}

async function renderStates() {
  const states = await api("api/v1/states");
  const body = document.querySelector("#states tbody");
  body.replaceChildren();
  // Sparklines: one query per series name over the 24 h before the newest sample (the agent's
  // clock, which an embedding application may simulate), matched to rows by labels.
  const history = new Map();
  const newest = Math.max(0, ...states.map((s) => s.latest_time));
  for (const name of new Set(states.map((s) => s.series))) {
    const q = `api/v1/query?series=${encodeURIComponent(name)}` +
      `&from=${newest - 86400}&to=${newest}`;
    for (const r of (await api(q)).result) {
      const { __name__, ...labels } = r.metric;
      history.set(`${__name__}|${labelsKey(labels)}`, r.values);
    }
  }
  for (const s of states) {
    const bytes = isBytes(s.series);
    const trend = s.trend ? `${s.trend.slope_per_hour >= 0 ? "+" : ""}` +
      `${humanize(s.trend.slope_per_hour, bytes)}/h (r² ${s.trend.r_squared.toFixed(2)})` : "–";
    body.append(el("tr", { "data-series": s.series, "data-state": stateName(s.labels) },
      el("td", {}, el("strong", {}, stateName(s.labels)), el("div", { class: "muted" }, s.series)),
      el("td", {}, `${s.labels.job || ""} / ${s.labels.source || ""}`),
      el("td", { class: "num value" }, humanize(s.latest, bytes)),
      el("td", { class: "ttl" }, ttlText(s.ttl_seconds, s.series)),
      el("td", { class: "num trend" }, trend),
      el("td", { class: `verdict verdict-${s.verdict}` }, s.verdict.replaceAll("_", " ")),
      el("td", { class: "spark-cell" },
        sparkline(history.get(`${s.series}|${labelsKey(s.labels)}`) || []))));
  }
  document.getElementById("no-states").hidden = states.length > 0;
  return states;
}

async function renderSources() {
  const sources = await api("api/v1/sources");
  const body = document.querySelector("#sources tbody");
  body.replaceChildren();
  for (const s of sources) {
    body.append(el("tr", {},
      el("td", {}, s.name), el("td", {}, s.type), el("td", {}, s.job),
      el("td", { class: `up-${s.up ? 1 : 0}` }, s.up ? "up" : "down"),
      el("td", { class: "muted" }, s.last_error || "")));
  }
  return sources;
}

async function refresh() {
  const error = document.getElementById("error");
  try {
    const [alerts, states, sources] =
      await Promise.all([renderAlerts(), renderStates(), renderSources()]);
    const firing = alerts.filter((a) => a.state === "firing").length;
    document.getElementById("summary").textContent =
      `${states.length} watched series · ${sources.length} sources · ${firing} firing`;
    error.hidden = true;
    document.body.dataset.loaded = "true";  // for tests and scripts: the first render is done
  } catch (e) {
    error.textContent = `Could not load: ${e.message}`;
    error.hidden = false;
  }
}

refresh();
setInterval(refresh, 30000);
