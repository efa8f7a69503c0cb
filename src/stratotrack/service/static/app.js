/* The map page: choose a launch point, predict through the Tawhiri-compatible API v1, show path, burst and
 * landing, download CSV/KML/GeoJSON; ensembles and launch windows through API v2 jobs when the server has them;
 * a live tracking session through Server-Sent Events.  Plain script on top of map.js (window.StratoMap). */
(function () {
  "use strict";

  var $ = function (id) { return document.getElementById(id); };
  var STAGE_COLORS = {ascent: "#1f77b4", descent: "#d62728", float: "#9467bd"};
  var SETTINGS_KEY = "stratotrack.settings";

  // -- settings: API key and tile URL, kept in this browser (a ?tiles= or ?key= in the URL wins) ----------------
  var settings = {};
  try { settings = JSON.parse(localStorage.getItem(SETTINGS_KEY) || "{}") || {}; } catch (e) { settings = {}; }
  var query = new URLSearchParams(location.search);
  if (query.get("tiles")) { settings.tiles = query.get("tiles"); }
  if (query.get("key")) { settings.key = query.get("key"); }
  $("api-key").value = settings.key || "";
  $("tiles").value = settings.tiles || "";

  var m = new StratoMap($("map"), {tiles: settings.tiles || null, center: [30, 0], zoom: 2});
  window.stratoMap = m;
  var bordersReady = m.loadBorders("static/countries.topojson.json").catch(showError);

  $("save-settings").addEventListener("click", function () {
    settings.key = $("api-key").value.trim();
    settings.tiles = $("tiles").value.trim();
    try { localStorage.setItem(SETTINGS_KEY, JSON.stringify(settings)); } catch (e) { /* private mode */ }
    m.setTiles(settings.tiles || null);
  });

  function showError(err) {
    var el = $("error");
    el.textContent = err ? String(err.message || err) : "";
    el.hidden = !err;
  }

  function apiKeyHeaders(extra) {
    var h = extra || {};
    var key = $("api-key").value.trim();
    if (key) { h["X-API-Key"] = key; }
    return h;
  }

  // Tawhiri's and v2's error bodies: {"error": {"type", "description"}} (FastAPI's {"detail"} as a fallback).
  function fetchJSON(url, options) {
    return fetch(url, options).then(function (r) {
      return r.text().then(function (text) {
        var body = null;
        try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
        if (!r.ok && r.status !== 202) {
          var msg = body && body.error ? body.error.description || body.error.type :
                    body && body.detail ? JSON.stringify(body.detail) : text;
          throw new Error("HTTP " + r.status + ": " + msg);
        }
        return body;
      });
    });
  }

  // -- the form ------------------------------------------------------------------------------------------------
  function utcInput(date) { return date.toISOString().slice(0, 16); }
  function fromInput(value) { return value ? value + ":00Z" : ""; }
  var next = new Date(Math.ceil(Date.now() / 3600000) * 3600000);
  $("time").value = utcInput(next);
  $("stop_time").value = utcInput(new Date(next.getTime() + 24 * 3600000));

  function normLon(lon) { return ((((lon + 180) % 360) + 360) % 360) - 180; }
  function fmt(x, n) { return Number(x).toFixed(n); }
  function when(iso) { return String(iso).replace("T", " ").replace(/(\.\d+)?Z$/, "").slice(0, 19) + " UTC"; }

  var legends = {};  // per part of the drawing (prediction, ensemble, windows, live), shown together
  function setLegend(part, items) {
    legends[part] = items;
    var all = [];
    ["prediction", "ensemble", "windows", "live"].forEach(function (k) { all = all.concat(legends[k] || []); });
    m.legend(all);
  }

  var launchLng = null;  // the map's own longitude of the launch (keeps drawings where the user clicked)
  function setLaunch(lat, lng) {
    launchLng = lng;
    $("lat").value = fmt(lat, 4);
    $("lon").value = fmt(normLon(lng), 4);
    m.clear("launch");
    m.lon0 = lng;
    var seen = $("profile").value === "reverse_profile";
    m.point("launch", lat, lng, {color: "#ffffff", label: seen ? "seen here" : "launch", direction: "left",
                                 className: "launch"});
  }
  m.map.on("click", function (e) { setLaunch(e.latlng.lat, e.latlng.lng); });

  function syncProfile() {
    if ($("lat").value !== "" && launchLng !== null) { setLaunch(Number($("lat").value), launchLng); }
    document.body.classList.toggle("float-profile", $("profile").value === "float_profile");
    var reverse = $("profile").value === "reverse_profile";
    $("predict").textContent = reverse ? "Find where it came from" : "Predict";
    $("alt-label").textContent = reverse ? "Altitude seen (m)" : "Launch altitude (m)";
  }
  $("profile").addEventListener("change", syncProfile);
  syncProfile();

  function v1Params() {
    var p = new URLSearchParams();
    var profile = $("profile").value;
    p.set("profile", profile);
    p.set("launch_latitude", $("lat").value);
    p.set("launch_longitude", $("lon").value);
    p.set("launch_datetime", fromInput($("time").value));
    p.set("launch_altitude", $("launch_altitude").value || "0");
    p.set("ascent_rate", $("ascent_rate").value);
    if (profile === "float_profile") {
      p.set("float_altitude", $("float_altitude").value);
      if ($("stop_time").value) { p.set("stop_datetime", fromInput($("stop_time").value)); }
    } else {
      p.set("burst_altitude", $("burst_altitude").value);
      p.set("descent_rate", $("descent_rate").value);
    }
    if ($("dataset").value) { p.set("dataset", $("dataset").value); }
    return p;
  }

  // -- a v1 prediction -------------------------------------------------------------------------------------------
  var lastGeoJSONUrl = null;

  function predict(ev) {
    if (ev) { ev.preventDefault(); }
    showError(null);
    if ($("lat").value === "" || $("lon").value === "") { showError("Click the map to choose a launch point."); return; }
    var params = v1Params();
    $("predict").disabled = true;
    return fetchJSON("api/v1/?" + params.toString()).then(function (resp) {
      drawPrediction(resp, params);
    }).catch(showError).then(function () { $("predict").disabled = false; });
  }
  $("flight").addEventListener("submit", predict);

  function drawPrediction(resp, params) {
    m.clear("flight");
    if (launchLng === null) { m.lon0 = Number(params.get("launch_longitude")); }
    var stages = resp.prediction || [];
    var legend = [];
    stages.forEach(function (s) {
      var pts = s.trajectory.map(function (p) { return [p.latitude, p.longitude]; });
      var col = STAGE_COLORS[s.stage] || "#555";
      m.path("flight", pts, {color: col, weight: 3, title: s.stage});
      legend.push({label: s.stage, color: col, kind: "line"});
    });
    if (!stages.length) { return; }
    var first = stages[0].trajectory[0];
    var lastStage = stages[stages.length - 1];
    var end = lastStage.trajectory[lastStage.trajectory.length - 1];
    var burst = null;
    var floatStart = null;
    stages.forEach(function (s, i) {
      var next = stages[i + 1];
      if (s.stage === "ascent" && next && next.stage === "descent") { burst = s.trajectory[s.trajectory.length - 1]; }
      if (s.stage === "float") { floatStart = s.trajectory[0]; }
    });
    var reverse = params.get("profile") === "reverse_profile";
    if (reverse) { burst = null; }  // a backward run has no burst: it ends where the balloon started
    if (burst) {
      m.point("flight", burst.latitude, burst.longitude, {color: "#ff7f0e", label: "burst " + fmt(burst.altitude, 0) +
              " m", className: "burst", title: "burst at " + when(burst.datetime)});
      legend.push({label: "burst", color: "#ff7f0e", kind: "dot"});
      $("burst-text").textContent = fmt(burst.latitude, 4) + ", " + fmt(normLon(burst.longitude), 4) + " at " +
        fmt(burst.altitude, 0) + " m, " + when(burst.datetime);
    } else {
      $("burst-text").textContent = "—";
    }
    if (floatStart) {
      m.point("flight", floatStart.latitude, floatStart.longitude, {color: "#9467bd", radius: 5,
              label: "floats at " + fmt(floatStart.altitude, 0) + " m", className: "float-start",
              title: "float from " + when(floatStart.datetime)});
    }
    var endName = reverse ? "origin" : (params.get("profile") === "float_profile" ? "end" : "landing");
    $("landing-label").textContent = endName.charAt(0).toUpperCase() + endName.slice(1);
    $("burst-label").hidden = $("burst-text").hidden = !burst;
    m.point("flight", end.latitude, end.longitude, {color: "#222222", label: endName, className: "landing",
            title: endName + " " + when(end.datetime)});
    legend.push({label: endName, color: "#222222", kind: "dot"});
    setLegend("prediction", legend);
    var landing = $("landing");
    landing.dataset.lat = end.latitude;
    landing.dataset.lon = end.longitude;
    landing.dataset.time = end.datetime;
    $("landing-text").textContent = fmt(end.latitude, 4) + ", " + fmt(normLon(end.longitude), 4) + " at " +
      when(end.datetime);
    var seconds = Math.abs(Date.parse(end.datetime) - Date.parse(first.datetime)) / 1000;
    $("duration-text").textContent = Math.floor(seconds / 3600) + " h " + Math.round((seconds % 3600) / 60) + " min";
    var ul = $("warnings");
    ul.innerHTML = "";
    var warnings = resp.warnings || {};
    Object.keys(warnings).forEach(function (k) {
      var li = document.createElement("li");
      var w = warnings[k];
      li.textContent = typeof w === "object" && w !== null ? (w.description || k) : String(w);
      ul.appendChild(li);
    });
    var csv = new URLSearchParams(params); csv.set("format", "csv");
    var kml = new URLSearchParams(params); kml.set("format", "kml");
    $("dl-csv").href = "api/v1/?" + csv.toString();
    $("dl-kml").href = "api/v1/?" + kml.toString();
    if (lastGeoJSONUrl) { URL.revokeObjectURL(lastGeoJSONUrl); }
    lastGeoJSONUrl = URL.createObjectURL(new Blob([JSON.stringify(toGeoJSON(resp))], {type: "application/geo+json"}));
    $("dl-geojson").href = lastGeoJSONUrl;
    $("result").hidden = false;
    m.fit(["flight", "launch"]);
  }

  // The v1 answer as GeoJSON: one LineString per stage ([lon, lat, alt], longitudes -180..180) and the end point.
  function toGeoJSON(resp) {
    var feats = (resp.prediction || []).map(function (s) {
      return {type: "Feature", properties: {stage: s.stage, start: s.trajectory[0].datetime,
                                            end: s.trajectory[s.trajectory.length - 1].datetime},
              geometry: {type: "LineString", coordinates: s.trajectory.map(function (p) {
                return [normLon(p.longitude), p.latitude, p.altitude];
              })}};
    });
    var st = resp.prediction[resp.prediction.length - 1];
    var e = st.trajectory[st.trajectory.length - 1];
    feats.push({type: "Feature", properties: {event: "end", time: e.datetime},
                geometry: {type: "Point", coordinates: [normLon(e.longitude), e.latitude, e.altitude]}});
    return {type: "FeatureCollection", features: feats, properties: {request: resp.request}};
  }

  // -- API v2: datasets, ensembles, launch windows (shown when the server offers them) -----------------------------
  // (asked only when the server's OpenAPI schema lists them, so that a v1-only server logs no 404 here)
  var v2Paths = fetchJSON("openapi.json").then(function (schema) { return (schema && schema.paths) || {}; })
    .catch(function () { return {}; });
  v2Paths.then(function (paths) {
    $("live").hidden = !paths["/api/v2/sessions"];
    if (!paths["/api/v2/datasets"]) { return null; }
    return fetchJSON("api/v2/datasets");
  }).then(function (body) {
    if (!body) { return; }
    var sel = $("dataset");
    (body && body.datasets || []).forEach(function (d) {
      var o = document.createElement("option");
      o.value = d.name;
      o.textContent = d.name + (d.kind ? " (" + d.kind + ")" : "");
      sel.appendChild(o);
    });
    $("v2").hidden = false;
  }).catch(function () { /* a server without v2: v1 only */ });

  function v2Flight() {
    var profile = $("profile").value;
    var f = {latitude: Number($("lat").value), longitude: Number($("lon").value),
             altitude: Number($("launch_altitude").value || 0), time: fromInput($("time").value),
             profile: profile === "float_profile" ? "float" : "standard", ascent_rate: Number($("ascent_rate").value)};
    if (profile === "float_profile") {
      f.float_altitude = Number($("float_altitude").value);
      if ($("stop_time").value) { f.stop = fromInput($("stop_time").value); }
    } else {
      f.burst_altitude = Number($("burst_altitude").value);
      f.descent_rate = Number($("descent_rate").value);
    }
    if ($("dataset").value) { f.dataset = $("dataset").value; }
    return f;
  }

  function runJob(body) {
    showError(null);
    $("job-status").textContent = "queued…";
    return fetchJSON("api/v2/jobs", {method: "POST", headers: apiKeyHeaders({"Content-Type": "application/json"}),
                                     body: JSON.stringify(body)}).then(function (job) {
      return new Promise(function (resolve, reject) {
        (function poll() {
          fetchJSON("api/v2/jobs/" + job.id, {headers: apiKeyHeaders()}).then(function (j) {
            $("job-status").textContent = j.kind + ": " + j.status + " " + Math.round(100 * (j.progress || 0)) + "%";
            if (j.status === "done") { resolve(j); } else if (j.status === "failed") { reject(new Error(j.error)); }
            else { setTimeout(poll, 700); }
          }).catch(reject);
        })();
      });
    });
  }

  $("run-ensemble").addEventListener("click", function () {
    var body = v2Flight();
    body.kind = "ensemble";
    body.members = Number($("members").value);
    body.wind_error = $("wind-error").checked;
    var spread = {ascent_rate: $("sd-ascent").value};  // one normal standard deviation each
    if (body.profile === "float") { spread.float_altitude = $("sd-float").value; }
    else { spread.burst_altitude = $("sd-burst").value; spread.descent_rate = $("sd-descent").value; }
    body.spread = {};
    Object.keys(spread).forEach(function (k) { if (Number(spread[k]) > 0) { body.spread[k] = Number(spread[k]); } });
    runJob(body).then(function (job) {
      return fetchJSON("api/v2/jobs/" + job.id + "/result?format=geojson", {headers: apiKeyHeaders()});
    }).then(function (gj) {
      m.clear("ensemble");
      m.geojson("ensemble", gj, function (f) {
        var p = f.properties || {};
        if (p.kind === "spread ellipse") { return {color: "#8c564b", weight: 1, dashArray: "4 3", fill: false}; }
        if (p.kind === "passage") { return {color: "#17becf", weight: 1.5, fillOpacity: 0.1}; }
        var lev = Number(p.level || 0.5);
        return {color: "#e377c2", weight: 1, fillColor: "#e377c2", fillOpacity: 0.35 * (1 - lev) + 0.08};
      });
      setLegend("ensemble", [{label: "ensemble: highest-density regions", color: "#e377c2", kind: "area"},
                             {label: "spread ellipses", color: "#8c564b", kind: "line"}]);
      m.fit(["flight", "ensemble", "launch"]);
      $("job-status").textContent = "ensemble: " + gj.features.length + " contours and ellipses drawn";
    }).catch(showError);
  });

  $("run-windows").addEventListener("click", function () {
    var f = v2Flight();
    var span = $("span").value.trim();
    var hours = /d$/.test(span) ? 24 * parseFloat(span) : parseFloat(span);
    var body = {kind: "windows", latitude: f.latitude, longitude: f.longitude, altitude: f.altitude, start: f.time,
                end: new Date(Date.parse(f.time) + hours * 3600000).toISOString().replace(/\.\d+Z$/, "Z"),
                every: $("every").value.trim(), profile: f.profile, ascent_rate: f.ascent_rate};
    ["burst_altitude", "descent_rate", "float_altitude", "dataset"].forEach(function (k) {
      if (f[k] !== undefined) { body[k] = f[k]; }
    });
    runJob(body).then(function (job) {
      return fetchJSON("api/v2/jobs/" + job.id + "/result", {headers: apiKeyHeaders()});
    }).then(function (res) {
      var rows = res.result.launches || [];
      m.clear("windows");
      var table = document.createElement("table");
      table.innerHTML = "<tr><th>Launch (UTC)</th><th>Lands</th><th>km</th></tr>";
      rows.forEach(function (r, i) {
        var shade = rows.length > 1 ? i / (rows.length - 1) : 0;
        var col = "hsl(" + Math.round(220 - 200 * shade) + ",70%,45%)";
        m.point("windows", r.end_latitude, r.end_longitude, {radius: 5, color: col,
                title: "launch " + when(r.launch_time) + ": lands " + when(r.end_time)});
        var tr = document.createElement("tr");
        [when(r.launch_time).slice(5, 16), fmt(r.end_latitude, 3) + ", " + fmt(normLon(r.end_longitude), 3),
         fmt(r.distance_km, 0)].forEach(function (t) {
          var td = document.createElement("td"); td.textContent = t; tr.appendChild(td);
        });
        table.appendChild(tr);
      });
      $("windows-table").innerHTML = "";
      $("windows-table").appendChild(table);
      setLegend("windows", [{label: "landing of each launch time", color: "hsl(120,70%,45%)", kind: "dot"}]);
      m.fit(["flight", "windows", "launch"]);
      $("job-status").textContent = "windows: " + rows.length + " launch times; landings coloured early (blue) to late (red)";
    }).catch(showError);
  });

  // -- live tracking -------------------------------------------------------------------------------------------------
  var source = null, liveObs = [], seenObs = {}, lastObs = 0, lastState = 0, liveId = null, retry = null;

  $("open-session").addEventListener("click", function () {
    showError(null);
    var id = $("session-id").value.trim();
    var opened = id ? Promise.resolve({id: id}) :
      fetchJSON("api/v2/sessions", {method: "POST", headers: apiKeyHeaders({"Content-Type": "application/json"}),
                                    body: JSON.stringify({name: "map page", mode: $("session-mode").value})});
    opened.then(function (s) {
      $("session-id").value = s.id;
      follow(s.id);
    }).catch(showError);
  });

  function follow(id) {
    // the stream cannot report a refusal (EventSource sees no status): ask for the session first
    return fetchJSON("api/v2/sessions/" + encodeURIComponent(id), {headers: apiKeyHeaders()}).then(function () {
      listen(id);
    }).catch(function (err) {
      $("live-status").textContent = "No session.";
      showError(err);
    });
  }

  function listen(id) {
    liveId = id;
    liveObs = []; seenObs = {}; lastObs = 0; lastState = 0;
    ["live-obs", "live-track", "live-pred"].forEach(function (g) { m.clear(g); });
    $("live-count").textContent = "0";
    connect();
  }

  // The stream, resumed after what was already received when it drops (the server may end long requests).
  function connect() {
    if (source) { source.close(); }
    if (retry) { clearTimeout(retry); retry = null; }
    var id = liveId;
    var q = new URLSearchParams({after_obs: String(lastObs), after_state: String(lastState)});
    var key = $("api-key").value.trim();
    if (key) { q.set("key", key); }
    source = new EventSource("api/v2/sessions/" + encodeURIComponent(id) + "/events?" + q.toString());
    $("live-status").textContent = "Session " + id + ": connecting…";
    source.onopen = function () { $("live-status").textContent = "Session " + id + ": listening."; };
    source.onerror = function () {
      source.close();
      $("live-status").textContent = "Session " + id + ": reconnecting…";
      retry = setTimeout(connect, 1500);
    };
    source.addEventListener("observation", function (e) { onObservation(JSON.parse(e.data)); });
    source.addEventListener("state", function (e) { onState(JSON.parse(e.data)); });
    window.liveSource = source;
  }

  function onObservation(o) {
    if (o.id !== undefined) {
      if (seenObs[o.id]) { return; }
      seenObs[o.id] = true;
      lastObs = Math.max(lastObs, o.id);
    }
    liveObs.push(o);
    if (m.lon0 === null) { m.lon0 = o.lon; }
    m.point("live-obs", o.lat, o.lon, {radius: 3, color: "#2ca02c", stroke: "#2ca02c",
            title: (o.kind || "fix") + " " + when(new Date(o.time * 1000).toISOString())});
    $("live-count").textContent = String(liveObs.length);
    $("live-count").dataset.count = String(liveObs.length);
  }

  function onState(msg) {
    if (msg.state_id !== undefined) {
      if (msg.state_id <= lastState) { return; }
      lastState = msg.state_id;
    }
    var st = msg.state || {};
    if (st.error) { $("live-status").textContent = "tracker: " + st.error; return; }
    m.clear("live-track");
    m.clear("live-pred");
    var fused = st.fused || [];
    if (fused.length) {
      m.path("live-track", fused.map(function (p) { return [p.latitude, p.longitude]; }),
             {color: "#2ca02c", weight: 3, title: "fused track"});
      var last = fused[fused.length - 1];
      m.point("live-track", last.latitude, last.longitude, {color: "#2ca02c", label: "balloon", className: "balloon"});
      $("live-last").textContent = fmt(last.latitude, 4) + ", " + fmt(normLon(last.longitude), 4) + " at " +
        fmt(last.altitude, 0) + " m, " + when(last.time);
    }
    var fc = st.forecast || [];
    if (fc.length) {  // a floating balloon's forecast positions with their 50% radius
      var pts = fc.map(function (q) { return [q.latitude, q.longitude]; });
      if (fused.length) { pts.unshift([fused[fused.length - 1].latitude, fused[fused.length - 1].longitude]); }
      m.path("live-pred", pts, {color: "#d62728", weight: 2, dashArray: "6 4", title: "forecast"});
      var f = fc[fc.length - 1];
      m.point("live-pred", f.latitude, f.longitude, {color: "#d62728", radius: 5, label: "forecast " + when(f.time),
              className: "live-forecast", title: "50% within " + fmt(f.r50_km, 0) + " km"});
      $("live-forecast").textContent = fmt(f.latitude, 4) + ", " + fmt(normLon(f.longitude), 4) + " at " +
        when(f.time) + " (50% within " + fmt(f.r50_km, 0) + " km)";
    }
    if (st.forecast_path && st.forecast_path.length) {
      m.path("live-pred", st.forecast_path.map(function (p) { return [p[1], p[0]]; }),
             {color: "#d62728", weight: 2, dashArray: "6 4", title: "re-prediction"});
    }
    var L = st.landing;
    var out = $("live-landing");
    if (L && L.landing_latitude !== undefined) {
      m.point("live-pred", L.landing_latitude, L.landing_longitude, {color: "#d62728", label: "predicted landing",
              className: "live-landing", title: "landing " + L.landing_time});
      out.textContent = fmt(L.landing_latitude, 4) + ", " + fmt(normLon(L.landing_longitude), 4) + " at " +
        when(L.landing_time);
      out.dataset.lat = L.landing_latitude;
      out.dataset.lon = L.landing_longitude;
    } else {
      out.textContent = st.summary && st.summary.mode ? "— (" + st.summary.mode + ")" : "—";
    }
    out.dataset.nObs = String(msg.n_obs);
    $("live-status").textContent = "Session updated with " + msg.n_obs + " observations.";
    setLegend("live", [{label: "observations", color: "#2ca02c", kind: "dot"}, {label: "fused track", color: "#2ca02c"},
                       {label: "re-prediction", color: "#d62728"}]);
    m.fit(["live-obs", "live-track", "live-pred"]);
  }

  window.stratoPage = {predict: predict, setLaunch: setLaunch, follow: follow, ready: bordersReady};
})();
