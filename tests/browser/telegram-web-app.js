// A stand-in for Telegram's telegram-web-app.js, served to the Mini App in browser tests.
// It gives `window.Telegram.WebApp` as Telegram documents it (core.telegram.org/bots/webapps),
// from `window.__tgStandin` which the test sets before the page's scripts run:
//   { initData, platform, colorScheme, themeParams, confirmAnswer }
// and records what the page does with it (calls, the Main and Back buttons) in the same
// object; the test presses those buttons with `__tgStandin.press("main" | "back")`.
(function () {
  "use strict";
  const config = window.__tgStandin || (window.__tgStandin = {});
  const calls = (config.calls = []);
  const handlers = {};
  const record = (name, ...args) => calls.push([name, ...args]);
  const emit = (event) => (handlers[event] || []).slice().forEach((handler) => handler());

  function parse(initData) {
    const out = {};
    for (const [key, value] of new URLSearchParams(initData || "")) {
      if (key === "user" || key === "receiver" || key === "chat") {
        try { out[key] = JSON.parse(value); } catch (_) { out[key] = undefined; }
      } else if (key === "auth_date") out[key] = Number(value);
      else out[key] = value;
    }
    return out;
  }

  function button(name, event, extra) {
    const state = Object.assign({ isVisible: false, isActive: true, isProgressVisible: false, text: "" }, extra);
    const api = {
      get isVisible() { return state.isVisible; },
      get isActive() { return state.isActive; },
      get text() { return state.text; },
      get isProgressVisible() { return state.isProgressVisible; },
      show() { record(name + ".show"); state.isVisible = true; return api; },
      hide() { record(name + ".hide"); state.isVisible = false; return api; },
      onClick(fn) { (handlers[event] = handlers[event] || []).push(fn); return api; },
      offClick(fn) { handlers[event] = (handlers[event] || []).filter((h) => h !== fn); return api; },
    };
    if (name === "MainButton") {
      Object.assign(api, {
        setText(text) { record(name + ".setText", text); state.text = String(text); return api; },
        enable() { state.isActive = true; return api; },
        disable() { state.isActive = false; return api; },
        showProgress() { state.isProgressVisible = true; return api; },
        hideProgress() { state.isProgressVisible = false; return api; },
        setParams(params) { if (params.text !== undefined) state.text = String(params.text); if (params.is_visible !== undefined) state.isVisible = !!params.is_visible; return api; },
      });
    }
    config[name] = state;
    return api;
  }

  const theme = Object.assign({
    bg_color: "#ffffff", text_color: "#000000", hint_color: "#999999", link_color: "#2481cc",
    button_color: "#2481cc", button_text_color: "#ffffff", secondary_bg_color: "#efeff3",
    header_bg_color: "#ffffff", accent_text_color: "#2481cc", section_bg_color: "#ffffff",
    section_header_text_color: "#6d6d72", subtitle_text_color: "#999999", destructive_text_color: "#ff3b30",
  }, config.themeParams || {});
  const root = document.documentElement.style;
  for (const [key, value] of Object.entries(theme)) root.setProperty("--tg-theme-" + key.replace(/_/g, "-"), value);
  const height = window.innerHeight;
  root.setProperty("--tg-viewport-height", height + "px");
  root.setProperty("--tg-viewport-stable-height", height + "px");

  const webApp = {
    initData: config.initData || "",
    initDataUnsafe: parse(config.initData),
    version: "8.0",
    platform: config.platform || "android",
    colorScheme: config.colorScheme || "light",
    themeParams: theme,
    viewportHeight: height,
    viewportStableHeight: height,
    isExpanded: false,
    ready() { record("ready"); },
    expand() { record("expand"); webApp.isExpanded = true; },
    close() { record("close"); },
    onEvent(event, fn) { (handlers[event] = handlers[event] || []).push(fn); },
    offEvent(event, fn) { handlers[event] = (handlers[event] || []).filter((h) => h !== fn); },
    BackButton: button("BackButton", "backButtonClicked"),
    MainButton: button("MainButton", "mainButtonClicked", { text: "CONTINUE" }),
    HapticFeedback: {
      impactOccurred(style) { record("haptic.impact", style); },
      notificationOccurred(type) { record("haptic.notification", type); },
      selectionChanged() { record("haptic.selection"); },
    },
    showAlert(message, callback) { record("showAlert", message); if (callback) callback(); },
    showConfirm(message, callback) { record("showConfirm", message); if (callback) callback(config.confirmAnswer !== false); },
    showPopup(params, callback) { record("showPopup", params); if (callback) callback(null); },
  };
  config.press = (which) => emit(which === "back" ? "backButtonClicked" : "mainButtonClicked");
  window.Telegram = { WebApp: webApp };
})();
