/* The conformance report's script. Inlined verbatim into index.html and allowed by the
   Content-Security-Policy through the SHA-256 of this exact text.

   Everything shown comes from the two JSON blocks; whatever a target sent is data and is
   only ever inserted as text (textContent, append of strings), never parsed as HTML.
   The filters and the open case live in the URL fragment (#v=FAIL&r=MUST&b=new&target=1&p=h1
   &s=...&q=...&case=ID&t=N): a link reproduces the view, and loading it restores the view.
   With target=N (a report of several targets) the verdict and failure filters look at that
   target's verdicts only, so a target's FAIL count in the overview lists its own FAILs.
   A FAIL the baseline expects is a "known" FAIL: shown as "FAIL (known)" with its own style,
   and b=new / b=known keeps only the cases with a new / known FAIL on some target. */
(function () {
  "use strict";

  const started = performance.now();
  const summary = JSON.parse(document.getElementById("summary-data").textContent);
  let detailsCache = null;
  function details() {
    // Parsed on first use only: a page of 1,000 cases x 5 targets opens without it. The
    // block comes after this script in the page, so it exists once the document is parsed
    // (whenParsed).
    if (detailsCache === null) {
      detailsCache = JSON.parse(document.getElementById("details-data").textContent);
    }
    return detailsCache;
  }

  function whenParsed(fn) {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn, { once: true });
    else fn();
  }

  const targets = summary.targets;
  const cases = summary.cases;
  const ELIDED = "$elided";
  const RFC_PREFIX = "https://www.rfc-editor.org/rfc/";
  const ARROWS = { sent: "\u2192", received: "\u2190", event: "\u2022" };

  // ------------------------------------------------------------------ DOM helpers

  function el(tag, className, ...children) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child); // strings become text nodes
    }
    return node;
  }

  function verdictClass(verdict) {
    return "v-" + String(verdict).toLowerCase();
  }

  // The baseline's reason when the case's FAIL on target t is expected, else null.
  function knownReason(item, t) {
    const known = Array.isArray(item.known) ? item.known[t] : null;
    return item.verdicts[t] === "FAIL" && typeof known === "string" ? known : null;
  }

  function isNewFail(item, t) {
    return item.verdicts[t] === "FAIL" && knownReason(item, t) === null;
  }

  // What a cell says and how it looks: a known FAIL is labelled so, not only coloured.
  function verdictLabel(item, t) {
    return knownReason(item, t) === null ? item.verdicts[t] : "FAIL (known)";
  }

  function cellClass(item, t) {
    return knownReason(item, t) === null ? verdictClass(item.verdicts[t]) : "v-fail-known";
  }

  function rfcLink(url, label) {
    // Only ever a link to rfc-editor.org, whatever the data says.
    if (typeof url !== "string" || !url.startsWith(RFC_PREFIX)) return el("span", "", label);
    const a = el("a", "", label);
    a.href = url;
    a.rel = "noreferrer";
    return a;
  }

  // ------------------------------------------------------------------ bytes

  function decodeBase64(text) {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }

  const BYTE_TEXT = (function () {
    // The same table as conformance.reporters._text.escape_bytes: printable Latin-1 as is,
    // every other byte as an escape; "\n" shown and followed by a real line break.
    const table = [];
    for (let b = 0; b < 256; b++) {
      if (b === 0x0a) table.push("\\n\n");
      else if (b === 0x0d) table.push("\\r");
      else if (b === 0x09) table.push("\\t");
      else if (b === 0x5c) table.push("\\\\");
      else if ((b >= 0x20 && b < 0x7f) || (b > 0xa0 && b !== 0xad)) table.push(String.fromCharCode(b));
      else table.push("\\x" + b.toString(16).padStart(2, "0"));
    }
    return table;
  })();

  function escapeBytes(bytes) {
    const parts = new Array(bytes.length);
    for (let i = 0; i < bytes.length; i++) parts[i] = BYTE_TEXT[bytes[i]];
    const text = parts.join("");
    return text.endsWith("\n") ? text.slice(0, -1) : text;
  }

  function hexDump(bytes) {
    const lines = [];
    for (let offset = 0; offset < bytes.length; offset += 16) {
      const chunk = bytes.subarray(offset, offset + 16);
      const hex = [];
      let ascii = "";
      for (let i = 0; i < 16; i++) {
        if (i === 8) hex.push("");
        hex.push(i < chunk.length ? chunk[i].toString(16).padStart(2, "0") : "  ");
        if (i < chunk.length) ascii += chunk[i] >= 0x20 && chunk[i] < 0x7f ? String.fromCharCode(chunk[i]) : ".";
      }
      lines.push(offset.toString(16).padStart(8, "0") + "  " + hex.join(" ") + "  |" + ascii + "|");
    }
    return lines.join("\n");
  }

  // ------------------------------------------------------------------ decoded fields

  function isScalar(value) {
    return value === null || ["string", "number", "boolean"].includes(typeof value);
  }

  function isElided(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value) &&
      Object.keys(value).length === 1 && typeof value[ELIDED] === "object" && value[ELIDED] !== null;
  }

  function renderScalar(value) {
    if (value === null) return el("span", "muted", "none");
    if (value === "") return el("span", "muted", "(empty)");
    return el("span", "", String(value));
  }

  function renderElided(info) {
    const span = el("span", "elided");
    if (typeof info.head === "string" && info.head) span.append(el("span", "", info.head));
    span.append(el("span", "muted",
      " \u2026 (" + String(info.length) + " characters in all, sha256 " + String(info.sha256) + ")"));
    return span;
  }

  function renderValue(value, depth) {
    // Generic over any event's detail(): HTTP/1.1 messages, HTTP/2 frames with their header
    // blocks, WebSocket frames and messages all render as nested fields.
    if (isScalar(value)) return renderScalar(value);
    if (isElided(value)) return renderElided(value[ELIDED]);
    if (depth > 8) return el("span", "muted", "\u2026");
    if (Array.isArray(value)) {
      if (value.length === 0) return el("span", "muted", "(none)");
      if (value.every((item) => Array.isArray(item) && item.length === 2 && isScalar(item[0]))) {
        // [name, value] pairs: header fields, settings, parameters.
        const table = el("table", "pairs");
        for (const [name, item] of value) {
          table.append(el("tr", "", el("td", "", renderScalar(name)), el("td", "", renderValue(item, depth + 1))));
        }
        return table;
      }
      if (value.every(isScalar)) return el("span", "", value.map((item) => String(item)).join(", "));
      const list = el("ol", "items");
      for (const item of value) list.append(el("li", "", renderValue(item, depth + 1)));
      return list;
    }
    const dl = el("dl", "kv");
    for (const [key, item] of Object.entries(value)) {
      if (depth === 0 && key === "type") continue; // shown as the event's label
      dl.append(el("dt", "", key), el("dd", "", renderValue(item, depth + 1)));
    }
    return dl;
  }

  // ------------------------------------------------------------------ transcript

  function dataCell(entry) {
    const td = el("td", "data");
    const bytes = decodeBase64(entry.b64 || "");
    td.append(el("pre", "bytes", escapeBytes(bytes)));
    const notes = [];
    if (entry.elided) {
      notes.push("\u2026 " + entry.elided.bytes + " more bytes not shown (sha256 of the " +
        (bytes.length + entry.elided.bytes) + " bytes kept: " + entry.elided.sha256 + ")");
    }
    if (entry.kept !== undefined) {
      notes.push("the harness kept " + entry.kept + " of the " + entry.size + " bytes on the wire");
    }
    for (const note of notes) td.append(el("p", "omitted", note));
    if (bytes.length) {
      const button = el("button", "hex-toggle", "hex");
      button.type = "button";
      button.setAttribute("aria-expanded", "false");
      let dump = null;
      button.addEventListener("click", () => {
        if (dump === null) {
          dump = el("pre", "hex", hexDump(bytes));
          td.append(dump);
        } else {
          dump.hidden = !dump.hidden;
        }
        button.setAttribute("aria-expanded", String(!dump.hidden));
      });
      td.append(button);
    }
    return td;
  }

  function eventCell(entry) {
    const td = el("td", "data");
    const head = el("div", "ev");
    const detail = entry.detail;
    if (detail && typeof detail.type === "string") head.append(el("span", "ev-type", detail.type));
    head.append(el("span", "", entry.text));
    td.append(head);
    if (detail && Object.keys(detail).some((key) => key !== "type")) {
      const box = el("details", "fields", el("summary", "", "decoded fields"));
      box.open = true;
      box.append(renderValue(detail, 0));
      td.append(box);
    }
    return td;
  }

  function renderTranscript(info) {
    const box = el("div", "transcript-box");
    if (info.omitted) {
      box.append(el("h4", "", "Transcript: " + info.omitted + " entries, not kept for a PASS case"),
        el("p", "muted", "Run with --transcripts all to keep the wire transcript of every case."));
      return box;
    }
    const count = info.entries;
    box.append(el("h4", "", "Transcript: " + count + (count === 1 ? " entry" : " entries") +
      (info.truncated ? " (the harness stopped recording at its cap)" : "")));
    if (!info.transcript.length) return box;
    const showConnection = info.transcript.some((entry) => entry.c);
    const table = el("table", "transcript");
    const head = el("tr", "", el("th", "", "ms"));
    if (showConnection) head.append(el("th", "", "conn"));
    head.append(el("th", "", ""), el("th", "", "data"));
    table.append(el("thead", "", head));
    const body = el("tbody");
    const divergedAt = info.step === null ? null : "step " + info.step + ":";
    for (const entry of info.transcript) {
      const row = el("tr", entry.d);
      if (divergedAt !== null && entry.d === "event" && String(entry.text).startsWith(divergedAt)) {
        row.classList.add("diverged"); // the step where expected and observed parted
        row.title = "expected and observed diverged at this step";
      }
      row.append(el("td", "t", Number(entry.t).toFixed(1)));
      if (showConnection) row.append(el("td", "c", String(entry.c || 0)));
      const dir = el("td", "dir", ARROWS[entry.d] || "?");
      dir.title = entry.d;
      row.append(dir);
      row.append(entry.d === "event" ? eventCell(entry) : dataCell(entry));
      body.append(row);
    }
    if (count > info.transcript.length) {
      const td = el("td", "omitted", "\u2026 " + (count - info.transcript.length) + " more entries (see results.json)");
      td.colSpan = showConnection ? 4 : 3;
      body.append(el("tr", "", td));
    }
    table.append(body);
    box.append(table);
    return box;
  }

  // ------------------------------------------------------------------ one case, one target

  function fact(dl, name, value) {
    if (value === null || value === undefined || value === "") return;
    dl.append(el("dt", "", name), el("dd", "", value));
  }

  function renderDetails(index, t) {
    const item = cases[index];
    const info = details()[index][t];
    const box = el("div", "case-details");
    box.dataset.case = item.id;
    box.dataset.target = String(t);
    box.append(el("h3", "", el("code", "", item.id), " \u2014 ", item.title));
    if (targets.length > 1) {
      const tabs = el("div", "tabs");
      tabs.setAttribute("role", "group");
      tabs.setAttribute("aria-label", "target");
      targets.forEach((target, n) => {
        const verdict = item.verdicts[n];
        const button = el("button", "", target.name, verdict ? el("span", "key " + cellClass(item, n), verdictLabel(item, n)) : " \u2013");
        button.type = "button";
        button.dataset.t = String(n);
        button.setAttribute("aria-pressed", String(n === t));
        button.disabled = !verdict;
        tabs.append(button);
      });
      box.append(tabs);
    }
    if (!info) {
      box.append(el("p", "muted", "This case did not run against " + targets[t].name + "."));
      return box;
    }
    const dl = el("dl", "facts");
    fact(dl, "Target", targets[t].name + " (" + targets[t].url + ")");
    const known = info.known && typeof info.known === "object" ? info.known : null;
    fact(dl, "Verdict", known
      ? el("span", "key v-fail-known", "FAIL (known)")
      : el("span", "key " + verdictClass(info.verdict), info.verdict));
    if (known) {
      // The reason is text someone wrote in the baseline file: data, shown as text.
      const where = [known.pattern, known.source].filter((part) => part).join(" at ");
      fact(dl, "Baseline", el("span", "", el("span", "baseline-reason", String(known.reason)),
        where ? el("span", "muted", " (" + where + ")") : null));
    } else if (info.verdict === "FAIL" && summary.baseline && summary.baseline.present) {
      fact(dl, "Baseline", "not listed: a new FAIL");
    }
    fact(dl, "Requirement", item.requirement);
    fact(dl, "RFC", el("span", "", rfcLink(item.url, item.label),
      rfcTitles[item.rfc] ? " \u2014 " + rfcTitles[item.rfc] : null));
    fact(dl, "Reference", info.reference);
    if (info.rule) fact(dl, "Rule", el("q", "", info.rule));
    if (item.aliases.length) fact(dl, "Aliases", item.aliases.join(", "));
    if (item.tags && item.tags.length) fact(dl, "Tags", item.tags.join(", "));
    fact(dl, "Expected", info.expected ? el("pre", "", info.expected) : null);
    fact(dl, info.verdict === "ERROR" ? "Reason" : "Observed", info.observed ? el("pre", "", info.observed) : null);
    if (info.step !== null || info.step_text) {
      const where = el("span");
      if (info.step !== null) where.append("step " + info.step + (info.step_text ? ": " : ""));
      if (info.step_text) where.append(el("code", "", info.step_text));
      fact(dl, "Diverged at", where);
    }
    if (info.closing) {
      fact(dl, "Closing handshake", el("span", "", el("strong", "", String(info.closing.verdict)),
        ": " + String(info.closing.text)));
    }
    if (info.notes.length) {
      const list = el("ul");
      for (const note of info.notes) list.append(el("li", "", note));
      fact(dl, "Notes", list);
    }
    fact(dl, "Duration", Number(info.duration_ms).toFixed(1) + " ms");
    const link = el("a", "", "link to this view");
    link.href = "#" + fragment(Object.assign({}, state, { case: item.id, t: t }));
    fact(dl, "Permalink", link);
    box.append(dl);
    box.append(renderTranscript(info));
    return box;
  }

  // ------------------------------------------------------------------ the matrix

  // A grid of divs rather than a <table>: every row has the same column template, and rows
  // off screen are neither laid out nor painted (content-visibility), so 1,000 rows x 5
  // targets open fast. ARIA roles keep it a table for assistive technology.
  const matrix = document.getElementById("cases");
  const rows = [];
  // What the search box looks in: the id, title, aliases and tags, and the RFC by its number,
  // section ("RFC 9113 §6.5") and name ("permessage-deflate", "HPACK"). Every word typed must
  // occur somewhere in it.
  const rfcTitles = summary.rfc_titles || {};
  const haystacks = cases.map((item) => [
    item.id, item.title, item.label, item.section, rfcTitles[item.rfc] || "",
  ].concat(item.aliases, item.tags || []).join("\n").toLowerCase());
  const indexById = new Map(cases.map((item, index) => [item.id, index]));

  function cellDiv(className, role, ...children) {
    const node = el("div", className, ...children);
    node.setAttribute("role", role);
    return node;
  }

  function buildMatrix() {
    matrix.style.setProperty("--targets", String(targets.length));
    const head = cellDiv("row head", "row", cellDiv("case", "columnheader", "Case"), cellDiv("req", "columnheader", "Req."));
    if (targets.length === 1) head.append(cellDiv("target", "columnheader", "Verdict"));
    else for (const target of targets) head.append(cellDiv("target", "columnheader", target.name));
    const body = cellDiv("rows", "rowgroup");
    cases.forEach((item, index) => {
      const row = cellDiv("row", "row");
      row.dataset.i = String(index);
      const id = el("a", "id", item.id);
      id.href = "#" + new URLSearchParams({ case: item.id }).toString();
      row.append(cellDiv("case", "cell", id, el("span", "title", item.title)), cellDiv("req", "cell", item.requirement));
      item.verdicts.forEach((verdict, t) => {
        if (verdict === null) {
          row.append(cellDiv("none", "cell", "\u2013"));
          return;
        }
        const reason = knownReason(item, t);
        // WebSocket cases, as in Autobahn's matrix: the target's close code and the duration.
        const wire = item.wire ? item.wire[t] : null;
        const cell = cellDiv("v " + cellClass(item, t), "cell", verdictLabel(item, t),
          typeof wire === "string" ? el("span", "wire", wire) : null);
        cell.dataset.t = String(t);
        cell.tabIndex = 0;
        cell.title = targets[t].name + ": " + verdictLabel(item, t) + (reason === null ? "" : " \u2014 " + reason) +
          (typeof wire === "string" ? " (close code from the target \u00b7 duration: " + wire + ")" : "");
        row.append(cell);
      });
      rows.push(row);
      body.append(row);
    });
    matrix.setAttribute("role", "table");
    matrix.setAttribute("aria-label", "cases by target");
    matrix.append(cellDiv("rows head-group", "rowgroup", head), body);
    body.addEventListener("click", onMatrixClick);
    body.addEventListener("keydown", (event) => {
      if ((event.key === "Enter" || event.key === " ") && event.target.matches(".v")) {
        event.preventDefault();
        onMatrixClick(event);
      }
    });
  }

  function onMatrixClick(event) {
    const tab = event.target.closest(".tabs button");
    if (tab) {
      const box = tab.closest(".case-details");
      openCase(indexById.get(box.dataset.case), Number(tab.dataset.t));
      commit();
      return;
    }
    const idLink = event.target.closest("a.id");
    const cell = event.target.closest(".row .v");
    if (!idLink && !cell) return;
    event.preventDefault();
    const row = event.target.closest(".row");
    const index = Number(row.dataset.i);
    const t = cell ? Number(cell.dataset.t) : cases[index].verdicts.findIndex((verdict) => verdict !== null);
    if (state.case === cases[index].id && state.t === t && !idLink) {
      closeCase(); // a second click on the open cell closes it
    } else {
      openCase(index, t);
    }
    commit();
  }

  let openRow = null;

  function closeCase() {
    if (openRow) {
      openRow.detail.remove();
      for (const cell of openRow.row.querySelectorAll(".v.open")) cell.classList.remove("open");
      openRow.row.classList.remove("opened");
    }
    openRow = null;
    state.case = "";
    state.t = 0;
  }

  function openCase(index, t) {
    closeCase();
    if (index === undefined || index < 0 || index >= cases.length) return;
    if (!(t >= 0 && t < targets.length) || cases[index].verdicts[t] === null) {
      t = cases[index].verdicts.findIndex((verdict) => verdict !== null);
    }
    const row = rows[index];
    const detail = cellDiv("detail", "row");
    if (document.readyState === "loading") {
      // Opened before the details block has been read (a fragment with a case, or a quick
      // click): fill it in as soon as it is there.
      detail.append(el("p", "muted", "Loading\u2026"));
      whenParsed(() => {
        if (openRow !== null && openRow.detail === detail) detail.replaceChildren(renderDetails(index, t));
      });
    } else {
      detail.append(renderDetails(index, t));
    }
    row.after(detail);
    row.classList.add("opened");
    const cell = row.querySelector('.v[data-t="' + t + '"]');
    if (cell) cell.classList.add("open");
    openRow = { row: row, detail: detail, index: index };
    state.case = cases[index].id;
    state.t = t;
    row.hidden = false;
  }

  // ------------------------------------------------------------------ filters and fragment

  const filters = document.getElementById("filters");
  const controls = {
    v: Array.from(filters.querySelectorAll('input[name="v"]')),
    r: Array.from(filters.querySelectorAll('input[name="r"]')),
    b: filters.querySelector('select[name="b"]'), // only with a baseline
    target: filters.querySelector('select[name="target"]'), // only with several targets
    p: filters.querySelector('select[name="p"]'),
    s: filters.querySelector('select[name="s"]'),
    q: filters.querySelector('input[name="q"]'),
  };
  const shown = document.getElementById("shown");
  const EMPTY = { v: [], r: [], b: "", target: "", p: "", s: "", q: "", case: "", t: 0 };
  let state = Object.assign({}, EMPTY);
  const FAILURE_FILTERS = ["new", "known"];

  function fragment(view) {
    const params = new URLSearchParams();
    if (view.v.length) params.set("v", view.v.join(","));
    if (view.r.length) params.set("r", view.r.join(","));
    if (view.b) params.set("b", view.b);
    if (view.target !== "") params.set("target", view.target);
    if (view.p) params.set("p", view.p);
    if (view.s) params.set("s", view.s);
    if (view.q) params.set("q", view.q);
    if (view.case) {
      params.set("case", view.case);
      if (view.t) params.set("t", String(view.t));
    }
    return params.toString();
  }

  function parseFragment(hash) {
    const params = new URLSearchParams(hash.replace(/^#/, ""));
    const list = (name) => (params.get(name) || "").split(",").filter((item) => item);
    const t = Number.parseInt(params.get("t") || "0", 10);
    const target = params.get("target") || "";
    return {
      v: list("v").filter((verdict) => summary.verdicts.includes(verdict)),
      r: list("r").filter((level) => summary.requirements.includes(level)),
      b: controls.b && FAILURE_FILTERS.includes(params.get("b")) ? params.get("b") : "",
      target: /^\d+$/.test(target) && Number(target) < targets.length && targets.length > 1 ? String(Number(target)) : "",
      p: params.get("p") || "",
      s: params.get("s") || "",
      q: params.get("q") || "",
      case: params.get("case") || "",
      t: Number.isFinite(t) ? t : 0,
    };
  }

  function setControls(view) {
    for (const box of controls.v) box.checked = view.v.includes(box.value);
    for (const box of controls.r) box.checked = view.r.includes(box.value);
    if (controls.b) controls.b.value = view.b;
    if (controls.target) controls.target.value = view.target;
    for (const [name, select] of [["p", controls.p], ["s", controls.s]]) {
      select.value = view[name];
      if (select.value !== view[name]) {
        // A value from a link that this report does not have: keep it, visibly.
        const option = el("option", "", view[name]);
        option.value = view[name];
        select.append(option);
        select.value = view[name];
      }
    }
    controls.q.value = view.q;
  }

  function readControls() {
    state.v = controls.v.filter((box) => box.checked).map((box) => box.value);
    state.r = controls.r.filter((box) => box.checked).map((box) => box.value);
    state.b = controls.b && FAILURE_FILTERS.includes(controls.b.value) ? controls.b.value : "";
    state.target = controls.target ? controls.target.value : "";
    state.p = controls.p.value;
    state.s = controls.s.value;
    state.q = controls.q.value;
  }

  function matches(index) {
    const item = cases[index];
    // The targets whose verdicts the filters look at: the chosen one, or any.
    const on = state.target === "" ? null : Number(state.target);
    const some = (test) => (on === null ? item.verdicts.some((_, t) => test(t)) : test(on));
    if (on !== null && item.verdicts[on] === null) return false;
    if (state.v.length && !some((t) => item.verdicts[t] !== null && state.v.includes(item.verdicts[t]))) return false;
    if (state.r.length && !state.r.includes(item.requirement)) return false;
    if (state.b === "new" && !some((t) => isNewFail(item, t))) return false;
    if (state.b === "known" && !some((t) => knownReason(item, t) !== null)) return false;
    if (state.p && item.protocol !== state.p) return false;
    if (state.s && item.section !== state.s) return false;
    if (state.q) {
      const words = state.q.toLowerCase().split(/\s+/).filter((word) => word);
      if (!words.every((word) => haystacks[index].includes(word))) return false;
    }
    return true;
  }

  function applyFilters() {
    let count = 0;
    for (let index = 0; index < rows.length; index++) {
      const visible = matches(index) || (openRow !== null && openRow.index === index);
      rows[index].hidden = !visible;
      if (visible) count++;
    }
    if (openRow) openRow.detail.hidden = rows[openRow.index].hidden;
    shown.textContent = "Showing " + count + " of " + cases.length + " cases";
  }

  let written = null;

  function commit() {
    // Record the view in the fragment without adding a history entry per keystroke.
    const text = fragment(state);
    written = text;
    const url = "#" + text;
    try {
      history.replaceState(null, "", text ? url : location.pathname + location.search);
    } catch (error) {
      location.replace(url);
    }
  }

  function restore() {
    const hash = location.hash.replace(/^#/, "");
    if (hash === written) return;
    written = hash;
    state = parseFragment(hash);
    setControls(state);
    const wanted = state.case;
    const wantedTarget = state.t;
    closeCase();
    if (wanted && indexById.has(wanted)) openCase(indexById.get(wanted), wantedTarget);
    applyFilters();
    if (openRow) openRow.row.scrollIntoView({ block: "start" });
  }

  function onFilterChange() {
    readControls();
    applyFilters();
    commit();
  }

  buildMatrix();
  filters.hidden = false;
  filters.addEventListener("change", onFilterChange);
  controls.q.addEventListener("input", onFilterChange);
  document.getElementById("clear").addEventListener("click", () => {
    state = Object.assign({}, EMPTY, { case: state.case, t: state.t });
    setControls(state);
    applyFilters();
    commit();
  });
  window.addEventListener("hashchange", () => {
    if (location.hash === "#cases-section") {
      // The jump link: an anchor, not a view. The browser has scrolled; keep the view.
      commit();
      return;
    }
    restore();
    // A link in the overview (a count, a section) sets a filter: show the cases it selects,
    // which start far below it. The jump link scrolls by itself (it names the section).
    if (openRow === null && location.hash !== "#cases-section") {
      document.getElementById("cases-section").scrollIntoView({ block: "start" });
    }
  });
  document.addEventListener("keydown", (event) => {
    // Escape closes the open case (unless typing in the search box, where it clears it).
    if (event.key === "Escape" && openRow !== null && event.target !== controls.q) {
      const row = openRow.row;
      closeCase();
      commit();
      row.querySelector(".v, a.id").focus();
    }
  });
  restore();
  // For the benchmark (tests/perf): how long the script took to draw the page.
  document.documentElement.dataset.scriptMs = (performance.now() - started).toFixed(1);
  requestAnimationFrame(() => setTimeout(() => {
    // The first frame with the matrix has been laid out and painted (since navigation start).
    document.documentElement.dataset.matrixPaintedMs = performance.now().toFixed(1);
  }, 0));
  whenParsed(() => {
    document.documentElement.dataset.ready = "true";
  });
})();
