// salesbot's Mini App: the pipeline board, the whole card, the lead's dashboard.
// Plain JavaScript, no build step and no library: the page must stay light on a phone.
// Every request carries Telegram's initData; every text comes from the bot's catalogues.
"use strict";

// Inside Telegram, its script gives `Telegram.WebApp`. In a desktop browser (the console's
// demo link), the page takes the sign-in data from the link itself, as Telegram does, and
// shows its own Back and Save buttons instead of Telegram's.
const inTelegram = Boolean(window.Telegram && window.Telegram.WebApp && window.Telegram.WebApp.platform !== "unknown");
const tg = (window.Telegram && window.Telegram.WebApp && window.Telegram.WebApp.initData) ? window.Telegram.WebApp : fromLink();

function fromLink() {
  const params = new URLSearchParams(location.hash.slice(1));
  let data = params.get("tgWebAppData");
  try {
    if (data) sessionStorage.setItem("tgWebAppData", data); else data = sessionStorage.getItem("tgWebAppData");
  } catch (_) { /* storage refused: the link's data still works until the page is left */ }
  const noop = () => {};
  const button = { setText: noop, show: noop, hide: noop, onClick: noop, offClick: noop, showProgress: noop, hideProgress: noop };
  return { initData: data || "", initDataUnsafe: {}, platform: "unknown", ready: noop, expand: noop,
    BackButton: button, MainButton: button, HapticFeedback: { notificationOccurred: noop } };
}
const state = { moves: 0, me: null, texts: {}, board: null, filters: { grade: "", tag: "", behind: false, owner: "" } };
const app = document.getElementById("app");

function t(key, params) {
  let text = state.texts[key] || key;
  for (const [name, value] of Object.entries(params || {})) text = text.split("{" + name + "}").join(String(value));
  return text;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function toast(text) {
  const box = document.getElementById("toast");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 3500);
}

function nonce() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function api(method, path, body) {
  const headers = { Authorization: "tma " + tg.initData };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  // A write carries a nonce never sent before: the server refuses a request received twice.
  if (method !== "GET") headers["X-Salesbot-Nonce"] = nonce();
  // Relative to the page: behind a proxy the Mini App may live under a path of its own.
  const response = await fetch(path.replace(/^\//, ""), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  let data = null;
  try { data = await response.json(); } catch (_) { data = null; }
  if (!response.ok) {
    const error = new Error((data && data.message) || response.statusText);
    error.status = response.status;
    error.data = data;
    throw error;
  }
  return data;
}

function fail(error) {
  toast(error.message || t("web.error"));
}

// ------------------------------------------------------------------ navigation

function go(hash) {
  if (location.hash === hash) route(); else location.hash = hash;
}

// Outside Telegram: a bar of the page's own with Back and the main action.
const pagebar = inTelegram ? null : document.body.appendChild(el("nav", { class: "pagebar" }));
const pageBack = pagebar ? pagebar.appendChild(el("button", { class: "chip", type: "button", hidden: true, onclick: back }, "←")) : null;
const pageMain = pagebar ? pagebar.appendChild(el("button", { class: "main", type: "button", hidden: true })) : null;

function back() {
  leaving(() => {
    // Back from a card returns to the screen it was opened from; a card the page was opened at
    // (a link straight to it) has only the board behind it.
    if (location.hash.startsWith("#card") && state.moves > 0) history.back();
    else { history.replaceState(null, "", "#board"); route(); }
  });
}

// A card form with changes not saved yet asks before they are dropped: on Back, and (through
// Telegram) when the Mini App is closed.
function unsaved() {
  return Boolean(state.unsaved && state.unsaved());
}

function leaving(leave) {
  if (!unsaved()) { leave(); return; }
  const decide = (ok) => { if (ok) { state.unsaved = null; guardClosing(); leave(); } };
  if (inTelegram) tg.showConfirm(t("web.discard"), decide); else decide(window.confirm(t("web.discard")));
}

function guardClosing() {
  if (!inTelegram || !tg.enableClosingConfirmation) return;
  if (unsaved()) tg.enableClosingConfirmation(); else tg.disableClosingConfirmation();
}

// Back in the Mini App after a while in the chat: the screen is read again, so what was done in
// the chat meanwhile shows (a card being edited is left as it is).
function refresh() {
  if (!unsaved() && state.me) route();
}

function setBack(visible) {
  if (pageBack) pageBack.hidden = !visible;
  if (visible) tg.BackButton.show(); else tg.BackButton.hide();
}

let mainAction = null;
function setMain(text, action) {
  if (pageMain) {
    pageMain.hidden = !action;
    pageMain.textContent = text || "";
    pageMain.onclick = action;
  }
  if (mainAction) tg.MainButton.offClick(mainAction);
  mainAction = action;
  if (action) {
    tg.MainButton.setText(text);
    tg.MainButton.onClick(action);
    tg.MainButton.show();
  } else {
    tg.MainButton.hide();
  }
}

async function route() {
  const [screen, arg] = location.hash.replace(/^#/, "").split("&")[0].split("/");
  setMain(null, null);
  releaseMedia();
  state.unsaved = null;
  guardClosing();
  try {
    if (screen === "card" && arg) { setBack(true); await showCard(Number(arg)); }
    else if (screen === "dashboard") { setBack(state.me.role === "rep"); await showDashboard(); }
    else { setBack(false); await showBoard(); }
  } catch (error) {
    app.replaceChildren(el("p", { class: "error" }, error.message || t("web.error")));
  }
}

// ------------------------------------------------------------------ the board

function relativeDays(iso) {
  if (!iso) return t("web.never");
  const days = Math.floor((Date.now() - Date.parse(iso)) / 86400000);
  return days <= 0 ? t("web.today") : t("web.days_ago", { days });
}

function boardQuery(extra) {
  const f = state.filters;
  const query = new URLSearchParams(extra || {});
  if (f.grade) query.set("grade", f.grade);
  if (f.tag) query.set("tag", f.tag);
  if (f.behind) query.set("behind", "1");
  if (f.owner) query.set("owner", f.owner);
  return query;
}

async function showBoard() {
  const f = state.filters;
  const board = await api("GET", "/api/board?" + boardQuery());
  state.board = board;
  const chip = (label, pressed, onclick) => el("button", { class: "chip", type: "button", "aria-pressed": pressed ? "true" : "false", onclick }, label);
  const filters = el("div", { class: "filters", role: "toolbar" },
    chip(t("web.all"), !f.grade && !f.tag && !f.behind, () => { Object.assign(f, { grade: "", tag: "", behind: false }); showBoard().catch(fail); }),
    ["A", "B", "C"].map((g) => chip(g, f.grade === g, () => { f.grade = f.grade === g ? "" : g; showBoard().catch(fail); })),
    chip(t("web.behind"), f.behind, () => { f.behind = !f.behind; showBoard().catch(fail); }),
    board.tags.length ? el("select", { class: "chip", "aria-label": t("web.tag"), onchange: (e) => { f.tag = e.target.value; showBoard().catch(fail); } },
      el("option", { value: "" }, t("web.any_tag")),
      board.tags.map((tag) => el("option", { value: tag, selected: f.tag === tag }, "#" + tag))) : null,
    board.reps && board.reps.length ? el("select", { class: "chip", "aria-label": t("web.rep"), onchange: (e) => { f.owner = e.target.value; showBoard().catch(fail); } },
      el("option", { value: "" }, t("web.all_reps")),
      board.reps.map((rep) => el("option", { value: String(rep.id), selected: f.owner === String(rep.id) }, rep.name))) : null,
    state.me.role === "lead" ? chip(t("web.dashboard"), false, () => go("#dashboard")) : null,
  );
  const columns = board.columns.map((column) => {
    const box = el("div", { class: column.count ? "column" : "column empty", dataset: { stage: column.stage } },
      el("header", null, el("h2", null, column.title), el("span", { class: "count" }, column.count)),
      column.cards.map((card) => boardCard(card, board)),
      column.count ? null : el("p", { class: "hint" }, t("web.empty_column")));
    let shown = column.cards.length;
    if (shown < column.count) {
      const more = el("button", { class: "chip", type: "button", onclick: async () => {
        try {
          const next = await api("GET", "/api/board?" + boardQuery({ stage: column.stage, offset: String(shown) }));
          const cards = next.columns[0].cards;
          shown += cards.length;
          more.before(...cards.map((card) => boardCard(card, board)));
          if (shown >= column.count || !cards.length) more.remove();
        } catch (error) { fail(error); }
      } }, t("web.more"));
      box.append(more);
    }
    return box;
  });
  app.replaceChildren(
    el("h1", null, t("web.board_title", { count: board.total })),
    filters,
    el("div", { class: "board" }, columns),
  );
}

function boardCard(card, board) {
  const meta = [
    card.company,
    t("web.last_contact", { when: relativeDays(card.last_contact_at) }),
  ].filter(Boolean).join(" · ");
  const move = el("select", { class: "move", "aria-label": t("web.move_to"), onclick: (e) => e.stopPropagation(),
    onchange: (e) => { if (e.target.value) moveTo(card.id, e.target.value); } },
    el("option", { value: "" }, t("web.move_to")),
    board.columns.filter((c) => c.stage !== card.stage).map((c) => el("option", { value: c.stage }, c.title)));
  const node = el("article", { class: "card", dataset: { id: String(card.id), stage: card.stage }, tabindex: "0",
    onclick: () => { if (!dragging.justDropped) go("#card/" + card.id); },
    onpointerdown: (e) => dragStart(e, node) },
    el("div", { class: "top" }, el("span", { class: "name" }, card.name), card.grade ? el("span", { class: "grade " + card.grade }, card.grade) : null),
    el("div", { class: "meta" }, meta),
    card.behind_days ? el("div", { class: "meta behind" }, t("web.behind_days", { days: card.behind_days })) : null,
    card.next_due_on ? el("div", { class: "meta" }, t("web.next", { day: card.next_due_on, text: card.next_text })) : null,
    move);
  return node;
}

// Dragging a card to another column, with a finger or a mouse (HTML5 drag and drop does not
// work with touch in Telegram's web views). A finger lifts a card by holding it still for a
// moment, so a swipe still scrolls the board; a mouse lifts it once it moves.
const HOLD_MS = 350, SLOP_PX = 8;
const dragging = { node: null, ghost: null, pointer: null, timer: 0, x: 0, y: 0, over: null, justDropped: false };

function dragStart(e, node) {
  if (e.button !== 0 || e.target.closest("select") || dragging.node) return;
  Object.assign(dragging, { node, pointer: e.pointerId, x: e.clientX, y: e.clientY, lifted: false });
  if (e.pointerType !== "mouse") dragging.timer = setTimeout(() => lift(e.clientX, e.clientY), HOLD_MS);
  window.addEventListener("pointermove", dragMove);
  window.addEventListener("pointerup", dragEnd);
  window.addEventListener("pointercancel", dragCancel);
}

function lift(x, y) {
  const node = dragging.node;
  if (!node) return;
  dragging.lifted = true;
  const box = node.getBoundingClientRect();
  dragging.ghost = document.body.appendChild(node.cloneNode(true));
  dragging.ghost.classList.add("ghost");
  dragging.ghost.style.width = box.width + "px";
  dragging.dx = x - box.left;
  dragging.dy = y - box.top;
  node.classList.add("lifted");
  if (tg.HapticFeedback && tg.HapticFeedback.impactOccurred) tg.HapticFeedback.impactOccurred("medium");
  follow(x, y);
}

function follow(x, y) {
  dragging.x = x;
  dragging.y = y;
  dragging.ghost.style.transform = "translate(" + (x - dragging.dx) + "px," + (y - dragging.dy) + "px)";
  const under = document.elementFromPoint(x, y);
  const column = under && under.closest(".column");
  if (dragging.over !== column) {
    if (dragging.over) dragging.over.classList.remove("drop");
    dragging.over = column;
    if (column && column.dataset.stage !== dragging.node.dataset.stage) column.classList.add("drop");
  }
  const board = dragging.node.closest(".board");
  const edge = board.getBoundingClientRect();
  const toward = x < edge.left + EDGE_PX ? -1 : x > edge.right - EDGE_PX ? 1 : 0;
  if (toward && !dragging.scrolling) requestAnimationFrame(() => scrollAlong(board));
  dragging.scrolling = toward;
}

// Held near the board's left or right edge, a card scrolls the board along to the columns beyond.
const EDGE_PX = 28;
function scrollAlong(board) {
  if (!dragging.lifted || !dragging.scrolling) { dragging.scrolling = 0; return; }
  board.style.scrollSnapType = "none";  // snapping would pull it back while it moves
  board.scrollLeft += dragging.scrolling * 10;
  const toward = dragging.scrolling;
  follow(dragging.x, dragging.y);
  if (dragging.scrolling === toward) requestAnimationFrame(() => scrollAlong(board));
}

function dragMove(e) {
  if (e.pointerId !== dragging.pointer) return;
  const moved = Math.hypot(e.clientX - dragging.x, e.clientY - dragging.y) > SLOP_PX;
  if (!dragging.lifted) {
    if (!moved) return;
    if (e.pointerType !== "mouse") { dragCancel(); return; }  // a swipe: the board scrolls
    lift(e.clientX, e.clientY);
  }
  e.preventDefault();
  follow(e.clientX, e.clientY);
}

// While a card is lifted, the finger moves it instead of scrolling the page.
window.addEventListener("touchmove", (e) => { if (dragging.lifted) e.preventDefault(); }, { passive: false });

function dragEnd(e) {
  if (e.pointerId !== dragging.pointer) return;
  const { node, over, lifted } = dragging;
  dragCancel();
  if (!lifted) return;
  dragging.justDropped = true;  // the click that follows a drop opens nothing
  setTimeout(() => { dragging.justDropped = false; }, 0);
  if (over && over.dataset.stage !== node.dataset.stage) moveTo(Number(node.dataset.id), over.dataset.stage);
}

function dragCancel() {
  clearTimeout(dragging.timer);
  window.removeEventListener("pointermove", dragMove);
  window.removeEventListener("pointerup", dragEnd);
  window.removeEventListener("pointercancel", dragCancel);
  if (dragging.ghost) dragging.ghost.remove();
  if (dragging.node && dragging.node.closest(".board")) dragging.node.closest(".board").style.scrollSnapType = "";
  if (dragging.over) dragging.over.classList.remove("drop");
  if (dragging.node) dragging.node.classList.remove("lifted");
  Object.assign(dragging, { node: null, ghost: null, pointer: null, over: null, lifted: false, scrolling: 0 });
}

async function moveTo(id, stage) {
  try {
    const moved = await api("POST", "/api/customers/" + id + "/stage", { stage });
    if (tg.HapticFeedback) tg.HapticFeedback.notificationOccurred("success");
    toast(t("web.moved", { stage: moved.title }));
    await showBoard();
  } catch (error) { fail(error); }
}

// ------------------------------------------------------------------ the card

// `kept`: the user's changes to put back over the card as read now (it changed meanwhile).
async function showCard(id, kept) {
  const form = await api("GET", "/api/customers/" + id + "/form");
  releaseMedia();  // shown again after a save: the old entries' files go with them
  const inputs = {};
  const groups = form.sections.map((section) => el("section", { class: "group" },
    el("h2", null, section.title),
    section.fields.map((field) => {
      let input;
      if (field.choices && field.choices.length) {
        input = el("select", { name: field.key },
          el("option", { value: "" }, "—"),
          field.choices.map((choice) => el("option", { value: choice.value, selected: choice.value === field.value }, choice.label)));
      } else {
        input = el("input", { name: field.key, value: field.value || "", placeholder: field.hint || "",
          inputmode: field.kind === "phone" ? "tel" : field.kind === "days" || field.kind === "score" ? "numeric" : null,
          type: field.kind === "email" ? "email" : "text", autocomplete: "off" });
      }
      inputs[field.key] = { input, initial: field.value || "" };
      if (kept && field.key in kept) input.value = kept[field.key];
      return el("label", { class: "field", dataset: { key: field.key } }, el("span", null, field.label), input, el("div", { class: "error" }));
    })));
  const timeline = el("section", { class: "group" }, el("h2", null, t("web.timeline")),
    form.timeline.length ? el("ul", { class: "timeline" }, form.timeline.map((entry) => el("li", null,
      el("div", { class: "meta hint" }, [entry.when, entry.author, entry.kind].filter(Boolean).join(" · ")),
      entry.text ? el("div", null, entry.text) : null,
      noteFile(entry),
    ))) : el("p", { class: "hint" }, t("web.no_notes")));
  app.replaceChildren(el("h1", null, form.name), el("p", { class: "hint" }, form.subtitle), ...groups, timeline);
  state.unsaved = () => Object.values(inputs).some(({ input, initial }) => input.value !== initial);
  for (const { input } of Object.values(inputs)) input.addEventListener("input", guardClosing);
  guardClosing();

  const save = async () => {
    const changes = {};
    for (const [key, { input, initial }] of Object.entries(inputs)) {
      if (input.value !== initial) changes[key] = input.value;
    }
    if (!Object.keys(changes).length) { toast(t("web.nothing_changed")); return; }
    for (const label of app.querySelectorAll("label.field")) { label.classList.remove("bad"); label.querySelector(".error").textContent = ""; }
    tg.MainButton.showProgress();
    try {
      await api("PATCH", "/api/customers/" + id, { changes, version: form.version });
      state.unsaved = null;
      toast(t("web.saved"));
      await showCard(id);
    } catch (error) {
      if (error.status === 409) {  // changed in the chat meanwhile: the latest, with these changes on top
        try { await showCard(id, changes); toast(t("web.changed_kept")); } catch (again) { fail(again); }
        return;
      }
      if (error.status === 422 && error.data && error.data.errors) {
        for (const [key, text] of Object.entries(error.data.errors)) {
          const label = app.querySelector('label.field[data-key="' + key + '"]');
          if (label) { label.classList.add("bad"); label.querySelector(".error").textContent = text; }
        }
      }
      fail(error);
    } finally {
      tg.MainButton.hideProgress();
    }
  };
  setMain(t("web.save"), save);
}

// ------------------------------------------------------------------ a timeline note's file

// <img> and <audio> cannot send the Authorization header, so the page fetches a note's file
// itself and shows it from a blob URL: a photo or voice note once its entry comes into view,
// a document when tapped, so opening a card stays light. Leaving the card lets them all go.
const media = { urls: [], observer: null };

function releaseMedia() {
  if (media.observer) media.observer.disconnect();
  media.observer = null;
  for (const url of media.urls) URL.revokeObjectURL(url);
  media.urls = [];
  const overlay = document.querySelector(".overlay");
  if (overlay) overlay.remove();
}

async function fileBlob(path) {
  const response = await fetch(path.replace(/^\//, ""), { headers: { Authorization: "tma " + tg.initData } });
  if (!response.ok) {
    let data = null;
    try { data = await response.json(); } catch (_) { data = null; }
    throw new Error((data && data.message) || t("web.error"));
  }
  const url = URL.createObjectURL(await response.blob());
  media.urls.push(url);
  const named = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
  return { url, name: named ? named[1] : "" };
}

function whenSeen(node, load) {
  if (!("IntersectionObserver" in window)) { load(); return; }
  if (!media.observer) {
    media.observer = new IntersectionObserver((seen) => {
      for (const entry of seen) {
        if (!entry.isIntersecting) continue;
        media.observer.unobserve(entry.target);
        entry.target.load();
      }
    }, { rootMargin: "200px 0px" });
  }
  node.load = load;
  media.observer.observe(node);
}

function noteFile(entry) {
  if (!entry.file_url) return null;
  const box = el("div", { class: "file", dataset: { kind: entry.file_kind } });
  const failed = (error) => box.replaceChildren(el("span", { class: "error" }, error.message || t("web.error")));
  if (entry.file_kind === "photo" || entry.file_kind === "voice") {
    box.append(el("span", { class: "hint" }, t("web.loading")));
    whenSeen(box, () => fileBlob(entry.file_url).then(({ url }) => {
      const alt = entry.text || t("web.photo");
      box.replaceChildren(entry.file_kind === "photo"
        ? el("button", { class: "thumb", type: "button", "aria-label": t("web.full_size"), onclick: () => showPhoto(url, alt) }, el("img", { src: url, alt }))
        : el("audio", { src: url, controls: true, preload: "metadata", "aria-label": t("web.voice") }));
    }).catch(failed));
  } else {
    const download = el("button", { class: "chip", type: "button", onclick: async () => {
      download.disabled = true;
      download.textContent = t("web.loading");
      try {
        const { url, name } = await fileBlob(entry.file_url);
        const link = el("a", { href: url, download: name || true }, t("web.download"));
        box.replaceChildren(link);
        link.click();
      } catch (error) { failed(error); }
    } }, t("web.download"));
    box.append(download);
  }
  return box;
}

function showPhoto(url, alt) {
  const close = () => overlay.remove();
  const overlay = el("div", { class: "overlay", role: "dialog", "aria-label": alt, onclick: close },
    el("img", { src: url, alt }),
    el("button", { class: "chip", type: "button", onclick: close }, t("web.close")));
  document.body.append(overlay);
}

// ------------------------------------------------------------------ the lead's dashboard

async function showDashboard(choice) {
  const days = (choice && choice.days) || state.dashboardDays || 7;
  const owner = choice && "owner" in choice ? choice.owner : (state.dashboardOwner || "");
  state.dashboardDays = days;
  state.dashboardOwner = owner;
  const query = new URLSearchParams({ days: String(days) });
  if (owner) query.set("owner", owner);
  const listQuery = new URLSearchParams(owner ? { owner } : {});
  const [data, lists] = await Promise.all([api("GET", "/api/dashboard?" + query), api("GET", "/api/dashboard/lists?" + listQuery)]);
  const top = Math.max(1, ...data.days.map((d) => d.notes + d.purchases));
  const detail = el("div");
  const bars = data.days.map((day) => el("button", { class: "bar", type: "button", "aria-pressed": "false",
    "aria-label": t("web.bar", { day: day.day, notes: day.notes, purchases: day.purchases }),
    onclick: async (e) => {
      for (const bar of app.querySelectorAll(".bar")) bar.setAttribute("aria-pressed", "false");
      e.currentTarget.setAttribute("aria-pressed", "true");
      const q = new URLSearchParams({ day: day.day });
      if (owner) q.set("owner", owner);
      try {
        const behind = await api("GET", "/api/dashboard/day?" + q);
        detail.replaceChildren(el("section", { class: "group" }, el("h2", null, t("web.day_title", { day: day.day })),
          behind.customers.length ? el("table", null,
            el("tr", null, el("th", null, t("web.customer")), el("th", { class: "num" }, t("web.notes")), el("th", { class: "num" }, t("web.purchases"))),
            behind.customers.map((c) => el("tr", { onclick: () => go("#card/" + c.id) },
              el("td", null, el("a", { href: "#card/" + c.id }, c.name)), el("td", { class: "num" }, c.notes), el("td", { class: "num" }, c.purchases))))
            : el("p", { class: "hint" }, t("web.nothing_that_day"))));
      } catch (error) { fail(error); }
    } },
    el("i", { class: "wins", style: "height:" + (100 * day.purchases / top) + "%" }),
    el("i", { style: "height:" + (100 * day.notes / top) + "%" })));
  const periods = el("div", { class: "filters" },
    [7, 30, 90].map((n) => el("button", { class: "chip", type: "button", "aria-pressed": n === days ? "true" : "false", onclick: () => showDashboard({ days: n, owner }).catch(fail) }, t("web.last_days", { days: n }))),
    el("select", { class: "chip", "aria-label": t("web.rep"), onchange: (e) => showDashboard({ days, owner: e.target.value }).catch(fail) },
      el("option", { value: "" }, t("web.all_reps")),
      data.reps.map((rep) => el("option", { value: String(rep.id), selected: owner === String(rep.id) }, rep.name))),
    el("button", { class: "chip", type: "button", onclick: () => go("#board") }, t("web.board")));
  app.replaceChildren(
    el("h1", null, t("web.dashboard_title")),
    periods,
    el("section", { class: "group" },
      el("h2", null, t("web.activity")),
      el("div", { class: "legend" }, el("span", null, el("b", { style: "background:var(--button)" }), t("web.notes")), el("span", null, el("b", { style: "background:#e8590c" }), t("web.purchases"))),
      el("div", { class: "chart" }, bars),
      el("div", { class: "axis" }, el("span", null, data.days[0].day), el("span", null, data.days[data.days.length - 1].day))),
    detail,
    ...lists.lists.map((list) => digestList(list, lists, owner)),
    el("section", { class: "group" }, el("h2", null, t("web.reps_table")),
      el("table", null,
        el("tr", null, el("th", null, t("web.rep")), el("th", { class: "num" }, t("web.notes")), el("th", { class: "num" }, t("web.purchases"))),
        data.per_rep.map((row) => el("tr", null, el("td", null, row.name), el("td", { class: "num" }, row.notes), el("td", { class: "num" }, row.purchases))))),
  );
}

// The digest's four lists, as the bot's digest has them: a tap on an item opens its customer.
function digestList(list, lists, owner) {
  const items = el("ul", { class: "items" }, list.items.map((item) => listItem(list.name, item)));
  const box = el("section", { class: "group list", dataset: { list: list.name } }, el("h2", null, list.title), items,
    list.total ? null : el("p", { class: "hint" }, lists.empty));
  let shown = list.items.length;
  if (shown < list.total) {
    const more = el("button", { class: "chip", type: "button", onclick: async () => {
      const q = new URLSearchParams({ name: list.name, offset: String(shown) });
      if (owner) q.set("owner", owner);
      try {
        const next = await api("GET", "/api/dashboard/list?" + q);
        shown += next.items.length;
        items.append(...next.items.map((item) => listItem(list.name, item)));
        if (shown >= next.total || !next.items.length) more.remove();
      } catch (error) { fail(error); }
    } }, t("web.more"));
    box.append(more);
  }
  return box;
}

function listItem(name, item) {
  const d = item.detail;
  let why, more = null;
  if (name === "overdue") { why = t("web.why_overdue", { days: d.days, due: d.due }); more = d.text; }
  else if (name === "complaints") { why = t("web.why_complaint", { days: d.days, due: d.due }); more = d.words ? t("web.complaint_words", { words: d.words }) : null; }
  else if (name === "at_risk") why = t("web.why_at_risk", { days: d.days, interval: d.interval, revenue: d.revenue, loyalty: d.loyalty });
  else why = t(d.never ? "web.why_quiet_never" : "web.why_quiet", { days: d.days });
  const id = item.customer_id;
  return el("li", { class: id ? "item link" : "item", dataset: id ? { id: String(id) } : null, onclick: id ? () => go("#card/" + id) : null },
    el("div", { class: "top" }, id ? el("a", { class: "name", href: "#card/" + id }, item.name) : el("span", { class: "name" }, item.name), el("span", { class: "owner" }, item.owner)),
    el("div", { class: "meta" }, why),
    more ? el("div", { class: "meta" }, more) : null);
}

// ------------------------------------------------------------------ start

async function start() {
  tg.ready();
  tg.expand();
  tg.BackButton.onClick(back);
  try {
    state.me = await api("GET", "/api/me");
    state.texts = await api("GET", "/api/texts");
    document.documentElement.lang = state.me.language;
  } catch (error) {
    app.replaceChildren(el("p", { class: "error" }, error.message || "401"));
    return;
  }
  window.addEventListener("hashchange", () => { state.moves += 1; route(); });
  if (tg.onEvent) tg.onEvent("activated", refresh);
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") refresh(); });
  if (location.hash.includes("tgWebApp")) {  // Telegram's launch data: keep only the screen asked for
    const screen = location.hash.replace(/^#/, "").split("&")[0];
    history.replaceState(null, "", "#" + (screen.startsWith("tgWebApp") ? "board" : screen));
  }
  // Opened at a screen: by a button in the chat (`?open=card_12`) or a t.me link's start_param.
  // A card opened so has the board behind it, where Back leads.
  const opened = new URLSearchParams(location.search).get("open") || (tg.initDataUnsafe && tg.initDataUnsafe.start_param);
  if (opened && /^(board|dashboard|card_\d+)$/.test(opened)) {
    const screen = "#" + opened.replace("_", "/");
    history.replaceState(null, "", screen.startsWith("#card") ? "#board" : screen);
    if (screen.startsWith("#card")) { history.pushState(null, "", screen); state.moves += 1; }
  }
  await route();
}

start();
