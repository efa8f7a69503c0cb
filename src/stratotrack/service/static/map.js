/* stratotrack map component, shared by the map page (/) and the assess report (one offline HTML file).
 *
 * A Leaflet map drawn without any tile server: land, coastlines and country borders come from the Natural Earth
 * TopoJSON that stratotrack ships (decoded with topojson-client); a tile URL is added underneath when given.
 * Plain script, no build step: load leaflet.js and topojson-client.min.js first, then this file, which defines
 * window.StratoMap.
 *
 *   var m = new StratoMap(element, {tiles: null});
 *   m.setBorders(topology);                    // or m.loadBorders(url) -> Promise
 *   m.path("flight", [[lat, lon], ...], {color: "#1f77b4"});
 *   m.point("flight", lat, lon, {color: "#d62728", label: "landing", title: "popup text"});
 *   m.fit();
 *
 * Longitudes of everything drawn are unwrapped around the first path's start (a path that crosses 180 degrees stays
 * continuous), and the borders are repeated 360 degrees east or west when the drawing reaches past 180.
 */
(function (root) {
  "use strict";

  var OCEAN = "#d7e8f4", LAND = "#f4f1ea", COAST = "#7f8c99", BORDER = "#a0a8b0";

  function StratoMap(element, options) {
    options = options || {};
    this.element = element;
    this.groups = {};
    this.topology = null;
    this.offsets = {};
    this.lon0 = null;
    this.legendItems = [];
    element.style.background = OCEAN;
    this.map = L.map(element, {preferCanvas: true, zoomSnap: 0.25, minZoom: 1, maxZoom: 14,
                               worldCopyJump: false});
    this.map.attributionControl.setPrefix("Leaflet");
    this.map.attributionControl.addAttribution("Borders: Natural Earth");
    this.map.createPane("borders").style.zIndex = 250;
    this.setTiles(options.tiles || null, options.tilesAttribution);
    this.map.setView(options.center || [20, 0], options.zoom || 2);
    L.control.scale({imperial: false}).addTo(this.map);
    this._legend = L.control({position: "topright"});
    var self = this;
    this._legend.onAdd = function () {
      self._legendDiv = L.DomUtil.create("div", "stratomap-legend");
      self._drawLegend();
      return self._legendDiv;
    };
    this._legend.addTo(this.map);
  }

  /* A tile layer under the borders (a URL template such as https://host/{z}/{x}/{y}.png); null removes it. */
  StratoMap.prototype.setTiles = function (url, attribution) {
    if (this._tiles) { this.map.removeLayer(this._tiles); this._tiles = null; }
    if (url) {
      this._tiles = L.tileLayer(url, {attribution: attribution || "", maxZoom: 18}).addTo(this.map);
    }
  };

  StratoMap.prototype.setBorders = function (topology) {
    this.topology = topology;
    for (var k in this.offsets) { this.map.removeLayer(this.offsets[k]); }
    this.offsets = {};
    this._bordersAt(0);
    return this;
  };

  StratoMap.prototype.loadBorders = function (url) {
    var self = this;
    return fetch(url).then(function (r) {
      if (!r.ok) { throw new Error("borders " + url + ": HTTP " + r.status); }
      return r.json();
    }).then(function (t) { return self.setBorders(t); });
  };

  /* Land, coastlines and borders shifted by `offset` degrees of longitude (drawn once per offset). */
  StratoMap.prototype._bordersAt = function (offset) {
    if (!this.topology || this.offsets[offset]) { return; }
    var topo = this.topology, obj = topo.objects.countries;
    if (!this._features) {
      this._features = {
        land: topojson.feature(topo, obj),
        coast: topojson.mesh(topo, obj, function (a, b) { return a === b; }),
        borders: topojson.mesh(topo, obj, function (a, b) { return a !== b; })
      };
    }
    var toLatLng = function (c) { return L.latLng(c[1], c[0] + offset); };
    var opts = function (style) {
      return {pane: "borders", interactive: false, coordsToLatLng: toLatLng, style: style};
    };
    var group = L.layerGroup([
      L.geoJSON(this._features.land, opts({stroke: false, fillColor: LAND, fillOpacity: 1})),
      L.geoJSON(this._features.borders, opts({color: BORDER, weight: 0.8, dashArray: "3 3", fill: false})),
      L.geoJSON(this._features.coast, opts({color: COAST, weight: 0.8, fill: false}))
    ]);
    group.addTo(this.map);
    this.offsets[offset] = group;
  };

  /* The longitude equivalent to `lon` nearest the drawing's reference longitude. */
  StratoMap.prototype.wrap = function (lon) {
    if (this.lon0 === null) { this.lon0 = lon; return lon; }
    return this.lon0 + ((((lon - this.lon0 + 180) % 360) + 360) % 360) - 180;
  };

  /* A named layer group, created on first use; drawing functions add to it, clear(name) empties it. */
  StratoMap.prototype.group = function (name) {
    if (!this.groups[name]) { this.groups[name] = L.featureGroup().addTo(this.map); }
    return this.groups[name];
  };

  StratoMap.prototype.clear = function (name) {
    if (this.groups[name]) { this.groups[name].clearLayers(); }
  };

  /* A polyline of [lat, lon] points, unwrapped so that it never jumps 360 degrees. */
  StratoMap.prototype.path = function (name, latlons, style) {
    var pts = [], prev = null;
    for (var i = 0; i < latlons.length; i++) {
      var lat = latlons[i][0], lon = latlons[i][1];
      if (lat === null || lon === null || isNaN(lat) || isNaN(lon)) { continue; }
      lon = prev === null ? this.wrap(lon) : prev + ((((lon - prev + 180) % 360) + 360) % 360) - 180;
      pts.push([lat, lon]);
      prev = lon;
    }
    style = L.extend({color: "#1f77b4", weight: 2.5, opacity: 0.9, interactive: !!(style && style.title)},
                     style || {});
    var line = L.polyline(pts, style);
    if (style.title) { line.bindTooltip(style.title, {sticky: true}); }
    line.addTo(this.group(name));
    return line;
  };

  /* A circle marker; `label` is shown beside it permanently, `title` on click. */
  StratoMap.prototype.point = function (name, lat, lon, opts) {
    opts = opts || {};
    var m = L.circleMarker([lat, this.wrap(lon)], {
      radius: opts.radius || 6, color: opts.stroke || "#222", weight: 1.5, fillColor: opts.color || "#d62728",
      fillOpacity: 0.95, className: opts.className || ""
    });
    if (opts.label) {
      m.bindTooltip(opts.label, {permanent: true, direction: opts.direction || "right", offset: [8, 0],
                                 className: "stratomap-label"});
    }
    if (opts.title) { m.bindPopup(opts.title); }
    m.addTo(this.group(name));
    return m;
  };

  /* A polygon from rings of [lon, lat] (GeoJSON order), e.g. a site's area or a footprint hull. */
  StratoMap.prototype.polygon = function (name, rings, style) {
    var self = this;
    var ll = rings.map(function (ring) {
      var prev = null;
      return ring.map(function (c) {
        var lon = prev === null ? self.wrap(c[0]) : prev + ((((c[0] - prev + 180) % 360) + 360) % 360) - 180;
        prev = lon;
        return [c[1], lon];
      });
    });
    style = L.extend({color: "#d62728", weight: 1.5, fillOpacity: 0.12}, style || {});
    var p = L.polygon(ll, style);
    if (style.title) { p.bindTooltip(style.title, {sticky: true}); }
    p.addTo(this.group(name));
    return p;
  };

  /* Any GeoJSON (contours, footprints), longitudes unwrapped around the reference. */
  StratoMap.prototype.geojson = function (name, data, style) {
    var self = this;
    var layer = L.geoJSON(data, {
      coordsToLatLng: function (c) { return L.latLng(c[1], self.wrap(c[0])); },
      style: typeof style === "function" ? style : function () { return style || {}; },
      pointToLayer: function (f, latlng) { return L.circleMarker(latlng, {radius: 3}); }
    });
    layer.addTo(this.group(name));
    return layer;
  };

  /* The legend: [{label, color, kind: "line"|"dot"|"area"}], each label once. */
  StratoMap.prototype.legend = function (items) {
    var seen = {};
    this.legendItems = items.filter(function (it) {
      if (seen[it.label]) { return false; }
      seen[it.label] = true;
      return true;
    });
    this._drawLegend();
  };

  StratoMap.prototype._drawLegend = function () {
    if (!this._legendDiv) { return; }
    var div = this._legendDiv;
    div.innerHTML = "";
    div.style.display = this.legendItems.length ? "" : "none";
    this.legendItems.forEach(function (it) {
      var row = L.DomUtil.create("div", "stratomap-legend-row", div);
      var sw = L.DomUtil.create("span", "stratomap-swatch stratomap-" + (it.kind || "line"), row);
      sw.style.background = it.color;
      var text = L.DomUtil.create("span", "", row);
      text.textContent = it.label;
    });
  };

  /* Zoom to what is drawn (or to the named groups), and repeat the borders where the drawing passes 180. */
  StratoMap.prototype.fit = function (names) {
    var bounds = null, self = this;
    (names || Object.keys(this.groups)).forEach(function (n) {
      var g = self.groups[n];
      if (!g || !g.getLayers().length) { return; }
      var b = g.getBounds();
      if (!b.isValid()) { return; }
      bounds = bounds ? bounds.extend(b) : L.latLngBounds(b.getSouthWest(), b.getNorthEast());
    });
    if (!bounds) { return; }
    if (bounds.getWest() < -180) { this._bordersAt(-360); }
    if (bounds.getEast() > 180) { this._bordersAt(360); }
    this.map.fitBounds(bounds.pad(0.15), {maxZoom: 9});
  };

  root.StratoMap = StratoMap;
})(window);
