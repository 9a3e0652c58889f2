// Maps: the station search's map view (#station-map) and the status maps (.status-map).
// Leaflet comes before this file, from django-leaflet's static files (never a CDN). Markers are circle markers on
// a canvas (preferCanvas), so 10,000+ stay smooth; a map sets data-marker-count and data-state="ready" once drawn.
// Background: tiles from MAP_TILE_URL, or with none the US state outlines shipped in static/map/.
(function () {
  "use strict";

  const US = [[24.5, -125], [49.5, -66.5]];

  function newMap(el) {
    const map = L.map(el, { preferCanvas: true, minZoom: 2, maxZoom: 18 });
    el.leafletMap = map; // for the browser tests and the console
    map.fitBounds(US);
    if (el.dataset.tileUrl) {
      L.tileLayer(el.dataset.tileUrl, {
        attribution: el.dataset.tileAttribution,
        maxZoom: 19,
        // OpenStreetMap's tile policy asks for a Referer; the site's own policy (same-origin) would send none.
        referrerPolicy: "strict-origin-when-cross-origin",
      }).addTo(map);
    } else {
      // Below the markers: a pane of its own gets a canvas of its own.
      map.createPane("outlines").style.zIndex = 350;
      map.attributionControl.addAttribution("State outlines: U.S. Census Bureau TIGER/Line");
      fetch(el.dataset.outlinesUrl, { credentials: "same-origin" })
        .then((response) => response.json())
        .then((outlines) => {
          L.geoJSON(outlines, {
            pane: "outlines",
            interactive: false,
            style: { color: "#8a94a6", weight: 1, opacity: 0.9 },
          }).addTo(map);
        })
        .catch(() => {}); // the markers matter more than the background
    }
    return map;
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text; // names come from outside: text, never HTML
    return node;
  }

  function stationLink(prefix, id) {
    const link = element("a", "d-block", "Station page");
    link.href = prefix + encodeURIComponent(id) + "/";
    return link;
  }

  function fitTo(map, latlngs) {
    if (latlngs.length) map.fitBounds(L.latLngBounds(latlngs), { padding: [40, 40], maxZoom: 10, animate: false });
  }

  function ready(el, count) {
    el.dataset.markerCount = String(count);
    el.dataset.state = "ready";
  }

  // --- the station search's map --------------------------------------------------------------------------
  function parseBbox(text) {
    const parts = (text || "").split(",").map(Number);
    return parts.length === 4 && parts.every(Number.isFinite) ? parts : null;
  }

  function stationMap(el) {
    const map = newMap(el);
    const status = document.getElementById("map-status");
    const areaButton = document.getElementById("search-this-area");
    const bbox = parseBbox(el.dataset.bbox);
    if (bbox) map.fitBounds([[bbox[1], bbox[0]], [bbox[3], bbox[2]]]);
    let layer = null;
    let currentUrl = null;
    const popup = L.popup({ maxWidth: 280 });

    function basketForm(point) {
      const inBasket = point[6] === 1;
      const url = inBasket ? el.dataset.basketRemoveUrl : el.dataset.basketAddUrl;
      const form = element("form", "mt-2 d-inline-flex gap-1 basket-button");
      form.method = "post";
      form.action = url;
      form.setAttribute("hx-post", url);
      form.setAttribute("hx-target", "this");
      form.setAttribute("hx-swap", "outerHTML");
      const fields = { csrfmiddlewaretoken: el.dataset.csrfToken, id: point[0], next: location.pathname + location.search };
      for (const [name, value] of Object.entries(fields)) {
        const input = element("input");
        input.type = "hidden";
        input.name = name;
        input.value = value;
        form.append(input);
      }
      const button = element("button", inBasket ? "btn btn-sm btn-outline-secondary basket-remove" : "btn btn-sm btn-outline-primary basket-add",
        inBasket ? "Remove from the basket" : "Add to the basket");
      button.type = "submit";
      form.append(button);
      return form;
    }

    function popupContent(point) {
      const box = element("div", "map-popup");
      const series = [point[4] ? "daily" : "", point[5] ? "continuous" : ""].filter(Boolean).join(", ");
      box.append(
        element("strong", "d-block", point[1]),
        element("span", "d-block small text-muted", point[0]),
        element("span", "d-block small", "Series: " + (series || "none known")),
        stationLink(el.dataset.detailPrefix, point[0]),
        basketForm(point),
      );
      // The basket views answer with the list's own button fragment plus the navbar counter (out of band).
      box.addEventListener("htmx:afterRequest", (event) => {
        if (!event.detail.successful) return;
        const path = (event.detail.pathInfo && event.detail.pathInfo.requestPath) || "";
        point[6] = path.startsWith(el.dataset.basketRemoveUrl) ? 0 : 1;
      });
      return box;
    }

    function draw(points) {
      if (layer) layer.remove();
      const markers = points.map((point) => {
        const marker = L.circleMarker([point[2], point[3]], {
          radius: 4, weight: 1, color: "#0a3a78", fillColor: "#1f77d0", fillOpacity: 0.85,
        });
        marker.point = point;
        return marker;
      });
      // One popup for all markers, filled on click: 10,000 bound popups would cost more than the markers.
      layer = L.featureGroup(markers).addTo(map);
      layer.on("click", (event) => {
        const content = popupContent(event.layer.point);
        popup.setLatLng(event.layer.getLatLng()).setContent(content).openOn(map);
        htmx.process(content);
      });
      if (!bbox) fitTo(map, markers.map((m) => m.getLatLng()));
      ready(el, markers.length);
    }

    function load(url) {
      if (url === currentUrl) return;
      currentUrl = url;
      el.dataset.state = "loading";
      map.closePopup();
      if (!url) {
        draw([]);
        status.textContent = "Correct the filters above to see the stations on the map.";
        return;
      }
      status.textContent = "Loading the stations…";
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        // A 429 (this user's other maps still loading) is a plain sentence: show it, and let the same search retry.
        .then((response) => (response.status === 429
          ? response.text().then((text) => ({ errors: [text], retry: true }))
          : response.json()))
        .then((data) => {
          if (url !== currentUrl) return; // a newer search took its place
          if (data.retry) currentUrl = null;
          draw(data.points || []);
          const n = data.count || 0;
          status.textContent = data.errors ? data.errors.join(" ")
            : data.message || `${n.toLocaleString("en-US")} station${n === 1 ? "" : "s"} on the map.`;
          status.classList.toggle("text-danger", Boolean(data.capped || data.errors));
        })
        .catch(() => {
          status.textContent = "The stations could not be loaded. Reload the page to try again.";
        });
    }

    // "Search this area": the same search with bbox set to what the map shows, as a real page (list and map agree).
    areaButton.disabled = false;
    areaButton.addEventListener("click", () => {
      const b = map.getBounds();
      const box = [Math.max(b.getWest(), -180), Math.max(b.getSouth(), -90), Math.min(b.getEast(), 180), Math.min(b.getNorth(), 90)];
      const form = document.getElementById("search-form");
      const params = new URLSearchParams();
      for (const [name, value] of new FormData(form)) {
        if (value && !["bbox", "page", "view", "csrfmiddlewaretoken"].includes(name)) params.set(name, value);
      }
      params.set("bbox", box.map((v) => v.toFixed(4)).join(","));
      params.set("view", "map");
      location.assign(form.action + "?" + params.toString());
    });

    // A live search swaps #results, which names the points of the new search.
    document.addEventListener("htmx:afterSettle", () => {
      const results = document.getElementById("results");
      if (results && results.dataset.pointsUrl !== undefined) load(results.dataset.pointsUrl);
    });
    load(document.getElementById("results").dataset.pointsUrl);
  }

  // --- status maps ---------------------------------------------------------------------------------------
  function statusMap(el) {
    const map = newMap(el);
    const legend = document.querySelector(`.map-legend[data-for="${el.id}"]`);
    fetch(el.dataset.pointsUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((response) => response.json())
      .then((data) => {
        const states = Object.fromEntries(data.states.map((s) => [s.key, s]));
        const markers = data.points.map((point) => {
          const state = states[point[4]];
          const marker = L.circleMarker([point[2], point[3]], {
            radius: 6, weight: 1, color: "#333", fillColor: state.color, fillOpacity: 0.9,
          });
          marker.bindTooltip(element("span", "", `${point[0]}: ${state.label}`));
          const detail = point[5] ? element("span", "d-block small", point[5]) : ""; // the percentile map's value
          marker.on("click", () => {
            const box = element("div", "map-popup");
            box.append(
              element("strong", "d-block", point[1]),
              element("span", "d-block small text-muted", point[0]),
              element("span", "d-block small", state.label),
              detail,
              stationLink(data.detail_prefix, point[0]),
            );
            L.popup().setLatLng(marker.getLatLng()).setContent(box).openOn(map);
          });
          return marker;
        });
        L.featureGroup(markers).addTo(map);
        fitTo(map, markers.map((m) => m.getLatLng()));
        if (legend) {
          legend.replaceChildren(...data.states.map((s) => {
            const item = element("li", "list-inline-item");
            item.dataset.state = s.key;
            const swatch = element("span", "swatch");
            swatch.style.backgroundColor = s.color;
            item.append(swatch, ` ${s.label} ${s.count.toLocaleString("en-US")}`);
            return item;
          }));
          if (data.unplaced) legend.append(element("li", "list-inline-item text-muted", `${data.unplaced} without coordinates`));
          if (data.note) legend.append(element("li", "d-block text-muted map-note", data.note)); // e.g. the date ranked
        }
        ready(el, markers.length);
      })
      .catch(() => {
        if (legend) legend.replaceChildren(element("li", "text-danger", "The status map could not be loaded."));
      });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const search = document.getElementById("station-map");
    if (search) stationMap(search);
    document.querySelectorAll(".status-map").forEach(statusMap);
  });
})();
