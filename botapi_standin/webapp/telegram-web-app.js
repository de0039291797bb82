// A stand-in for Telegram's telegram-web-app.js, served in browser tests in place of
// https://telegram.org/js/telegram-web-app.js. It gives the page `window.Telegram.WebApp` as
// Telegram documents it (core.telegram.org/bots/webapps), and lets the test play the Telegram
// client around the page.
//
// The test sets `window.__tgStandin` before the page's scripts run (all optional):
//   initData       the raw launch data (botapi_standin.webapp.sign_init_data makes it)
//   platform       "android" (Telegram says "unknown" outside a Telegram client)
//   version        the Bot API version the client supports, "8.0"
//   themeParams    colours over Telegram's light (or, with colorScheme "dark", dark) ones
//   colorScheme    "light" or "dark"; by default from bg_color's brightness, as Telegram does
//   isExpanded     false (Telegram opens a Mini App at half height until expand())
//   confirmAnswer  what the user answers to showConfirm: true (OK) or false (Cancel)
//   popupAnswer    the id of the button pressed in showPopup (default: the first button's)
// and reads back from the same object:
//   calls          every call the page made, as [name, ...arguments]
//   MainButton, BackButton   each button's state as Telegram shows it
//   popups         each alert, confirm and popup shown: {kind, title, message, buttons, answer}
//   closed         whether the page called close()
// The test acts as the user and the client with:
//   press("main" | "back")     a tap on a button (an error if Telegram shows no such button
//                              to tap: hidden, or the Main button inactive or busy)
//   setTheme(themeParams, colorScheme?)   the user's theme changes (themeChanged)
//   setViewport(height, isStateStable)    the visible area changes (viewportChanged)
//   setActive(active)          the user minimises the Mini App to the chat, or comes back
//                              (Bot API 8.0: isActive, deactivated / activated)
// An exception thrown by one of the page's event handlers is not swallowed: the other
// handlers still run, and the exception is reported as uncaught, as a page error.
(function () {
  "use strict";
  const config = window.__tgStandin || (window.__tgStandin = {});
  const calls = (config.calls = []);
  const popups = (config.popups = []);
  config.closed = false;
  const handlers = {};

  const plain = (value) => (typeof value === "function" ? "<function>" : value);
  const record = (name, ...args) => calls.push([name, ...args.map(plain)]);
  const later = (fn) => setTimeout(fn, 0); // the client answers asynchronously

  function on(event, fn) {
    if (typeof fn !== "function") throw new Error("WebAppEventHandlerInvalid");
    (handlers[event] = handlers[event] || []).push(fn);
  }
  function off(event, fn) {
    const list = handlers[event] || [];
    const at = list.indexOf(fn);
    if (at !== -1) list.splice(at, 1);
  }
  function emit(event, data) {
    for (const handler of (handlers[event] || []).slice()) {
      try {
        handler.call(webApp, data);
      } catch (error) {
        later(() => { throw error; });
      }
    }
  }

  function parseInitData(raw) {
    const out = {};
    for (const [key, value] of new URLSearchParams(raw || "")) {
      if (key === "user" || key === "receiver" || key === "chat") {
        try { out[key] = JSON.parse(value); } catch (_) { out[key] = null; }
      } else if (key === "auth_date" || key === "can_send_after") out[key] = Number(value);
      else out[key] = value;
    }
    return out;
  }

  // Telegram's client colours (its light and dark themes).
  const LIGHT = {
    bg_color: "#ffffff", text_color: "#000000", hint_color: "#999999", link_color: "#2481cc",
    button_color: "#2481cc", button_text_color: "#ffffff", secondary_bg_color: "#efeff3",
    header_bg_color: "#ffffff", accent_text_color: "#2481cc", section_bg_color: "#ffffff",
    section_header_text_color: "#6d6d72", subtitle_text_color: "#999999", destructive_text_color: "#ff3b30",
  };
  const DARK = {
    bg_color: "#212121", text_color: "#ffffff", hint_color: "#aaaaaa", link_color: "#8774e1",
    button_color: "#8774e1", button_text_color: "#ffffff", secondary_bg_color: "#0f0f0f",
    header_bg_color: "#212121", accent_text_color: "#8774e1", section_bg_color: "#212121",
    section_header_text_color: "#aaaaaa", subtitle_text_color: "#aaaaaa", destructive_text_color: "#ff595a",
  };
  function isDark(color) {
    const match = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color || "");
    if (!match) return false;
    const [r, g, b] = match.slice(1).map((part) => parseInt(part, 16));
    return Math.sqrt(0.299 * r * r + 0.587 * g * g + 0.114 * b * b) < 120;
  }

  const root = document.documentElement.style;
  const setVar = (name, value) => root.setProperty("--tg-" + name, value);
  let theme = {};
  let scheme = "light";
  function applyTheme(params, colorScheme) {
    const base = colorScheme === "dark" ? DARK : LIGHT;
    theme = Object.freeze(Object.assign({}, base, params || {}));
    scheme = colorScheme || (isDark(theme.bg_color) ? "dark" : "light");
    for (const [key, value] of Object.entries(theme)) setVar("theme-" + key.replace(/_/g, "-"), value);
    setVar("color-scheme", scheme);
  }
  applyTheme(config.themeParams, config.colorScheme);

  let height = window.innerHeight;
  let stableHeight = height;
  let expanded = Boolean(config.isExpanded);
  let active = true;
  function applyViewport() {
    setVar("viewport-height", height + "px");
    setVar("viewport-stable-height", stableHeight + "px");
  }
  applyViewport();
  function viewportChanged(newHeight, isStateStable) {
    height = Math.round(newHeight);
    if (isStateStable) stableHeight = height;
    applyViewport();
    emit("viewportChanged", { isStateStable: Boolean(isStateStable) });
  }
  window.addEventListener("resize", () => {
    if (window.innerHeight !== height) viewportChanged(window.innerHeight, true);
  });

  // The Back button, at the top of the Telegram interface.
  const back = (config.BackButton = { isVisible: false });
  const BackButton = {
    get isVisible() { return back.isVisible; },
    show() { record("BackButton.show"); back.isVisible = true; return BackButton; },
    hide() { record("BackButton.hide"); back.isVisible = false; return BackButton; },
    onClick(fn) { record("BackButton.onClick", fn); on("backButtonClicked", fn); return BackButton; },
    offClick(fn) { record("BackButton.offClick", fn); off("backButtonClicked", fn); return BackButton; },
  };

  // The Main button, at the bottom of the Telegram interface.
  const main = (config.MainButton = {
    text: "CONTINUE", color: theme.button_color, textColor: theme.button_text_color,
    isVisible: false, isActive: true, isProgressVisible: false, hasShineEffect: false,
  });
  let activeBeforeProgress = true;
  function checkText(text) {
    const value = String(text).trim();
    if (!value.length || value.length > 64) throw new Error("WebAppMainButtonParamInvalid");
    return value;
  }
  const MainButton = {
    get text() { return main.text; },
    get color() { return main.color; },
    get textColor() { return main.textColor; },
    get isVisible() { return main.isVisible; },
    get isActive() { return main.isActive; },
    get isProgressVisible() { return main.isProgressVisible; },
    get hasShineEffect() { return main.hasShineEffect; },
    setText(text) { record("MainButton.setText", text); main.text = checkText(text); return MainButton; },
    show() { record("MainButton.show"); main.isVisible = true; return MainButton; },
    hide() { record("MainButton.hide"); main.isVisible = false; return MainButton; },
    enable() { record("MainButton.enable"); main.isActive = true; return MainButton; },
    disable() { record("MainButton.disable"); main.isActive = false; return MainButton; },
    // "By default, the button is disabled while the action is in progress."
    showProgress(leaveActive) {
      record("MainButton.showProgress", Boolean(leaveActive));
      if (!main.isProgressVisible) activeBeforeProgress = main.isActive;
      main.isProgressVisible = true;
      if (!leaveActive) main.isActive = false;
      return MainButton;
    },
    hideProgress() {
      record("MainButton.hideProgress");
      if (main.isProgressVisible) main.isActive = activeBeforeProgress;
      main.isProgressVisible = false;
      return MainButton;
    },
    setParams(params) {
      record("MainButton.setParams", params);
      if (params.text !== undefined) main.text = checkText(params.text);
      if (params.color !== undefined) main.color = String(params.color);
      if (params.text_color !== undefined) main.textColor = String(params.text_color);
      if (params.is_active !== undefined) main.isActive = Boolean(params.is_active);
      if (params.is_visible !== undefined) main.isVisible = Boolean(params.is_visible);
      if (params.has_shine_effect !== undefined) main.hasShineEffect = Boolean(params.has_shine_effect);
      return MainButton;
    },
    onClick(fn) { record("MainButton.onClick", fn); on("mainButtonClicked", fn); return MainButton; },
    offClick(fn) { record("MainButton.offClick", fn); off("mainButtonClicked", fn); return MainButton; },
  };

  // Popups: one at a time, with Telegram's limits on their parameters.
  let popupOpen = false;
  const BUTTON_TYPES = ["default", "ok", "close", "cancel", "destructive"];
  function popup(kind, params, answer, callback) {
    if (popupOpen) throw new Error("WebAppPopupOpened");
    const title = params.title === undefined ? "" : String(params.title).trim();
    const message = params.message === undefined ? "" : String(params.message).trim();
    const buttons = params.buttons === undefined ? [{ type: "close" }] : params.buttons;
    const valid = title.length <= 64 && message.length >= 1 && message.length <= 256
      && Array.isArray(buttons) && buttons.length >= 1 && buttons.length <= 3
      && buttons.every((button) => {
        const type = button.type || "default";
        const text = String(button.text || "").trim();
        return BUTTON_TYPES.includes(type) && String(button.id || "").length <= 64
          && text.length <= 64 && (text.length > 0 || (type !== "default" && type !== "destructive"));
      });
    if (!valid) throw new Error("WebAppPopupParamInvalid");
    const chosen = answer(buttons);
    popups.push({ kind, title, message, buttons, answer: chosen });
    popupOpen = true;
    later(() => {
      popupOpen = false;
      if (callback) callback(chosen);
    });
  }

  const webApp = {
    initData: config.initData || "",
    initDataUnsafe: parseInitData(config.initData),
    version: String(config.version || "8.0"),
    platform: config.platform || "android",
    get colorScheme() { return scheme; },
    get themeParams() { return theme; },
    get viewportHeight() { return height; },
    get viewportStableHeight() { return stableHeight; },
    get isExpanded() { return expanded; },
    get isActive() { return active; },
    headerColor: theme.bg_color,
    backgroundColor: theme.bg_color,
    isClosingConfirmationEnabled: false,
    BackButton,
    MainButton,
    HapticFeedback: {
      impactOccurred(style) { record("HapticFeedback.impactOccurred", style); return webApp.HapticFeedback; },
      notificationOccurred(type) { record("HapticFeedback.notificationOccurred", type); return webApp.HapticFeedback; },
      selectionChanged() { record("HapticFeedback.selectionChanged"); return webApp.HapticFeedback; },
    },
    isVersionAtLeast(version) {
      const parts = (v) => String(v).split(".").map(Number);
      const [have, want] = [parts(webApp.version), parts(version)];
      for (let i = 0; i < Math.max(have.length, want.length); i++) {
        if ((have[i] || 0) !== (want[i] || 0)) return (have[i] || 0) > (want[i] || 0);
      }
      return true;
    },
    ready() { record("ready"); },
    expand() {
      record("expand");
      if (!expanded) {
        expanded = true;
        later(() => viewportChanged(window.innerHeight, true));
      }
    },
    close() { record("close"); config.closed = true; },
    onEvent(event, fn) { record("onEvent", event, fn); on(event, fn); },
    offEvent(event, fn) { record("offEvent", event, fn); off(event, fn); },
    sendData(data) { record("sendData", data); },
    openLink(url, options) { record("openLink", url, options); },
    openTelegramLink(url) { record("openTelegramLink", url); },
    setHeaderColor(color) { record("setHeaderColor", color); webApp.headerColor = color; },
    setBackgroundColor(color) { record("setBackgroundColor", color); webApp.backgroundColor = color; },
    enableClosingConfirmation() { record("enableClosingConfirmation"); webApp.isClosingConfirmationEnabled = true; },
    disableClosingConfirmation() { record("disableClosingConfirmation"); webApp.isClosingConfirmationEnabled = false; },
    showPopup(params, callback) {
      record("showPopup", params);
      popup("popup", params, (buttons) => (config.popupAnswer !== undefined
        ? config.popupAnswer : String(buttons[0].id || "")), callback);
    },
    showAlert(message, callback) {
      record("showAlert", message);
      popup("alert", { message }, () => "", callback && (() => callback()));
    },
    showConfirm(message, callback) {
      record("showConfirm", message);
      const buttons = [{ id: "ok", type: "ok" }, { type: "cancel" }];
      popup("confirm", { message, buttons }, () => (config.confirmAnswer === false ? "" : "ok"),
        callback && ((id) => callback(id === "ok")));
    },
  };

  config.press = (which) => {
    if (which === "back") {
      if (!back.isVisible) throw new Error("the Back button is hidden: there is nothing to press");
      emit("backButtonClicked");
    } else if (which === "main") {
      if (!main.isVisible) throw new Error("the Main button is hidden: there is nothing to press");
      if (!main.isActive) throw new Error("the Main button is inactive: pressing it does nothing");
      emit("mainButtonClicked");
    } else {
      throw new Error("press('main') or press('back'), not " + which);
    }
  };
  config.setTheme = (params, colorScheme) => {
    applyTheme(params, colorScheme);
    webApp.headerColor = webApp.backgroundColor = theme.bg_color;
    emit("themeChanged");
  };
  config.setViewport = (newHeight, isStateStable) => viewportChanged(newHeight, isStateStable !== false);
  config.setActive = (isActive) => {
    if (Boolean(isActive) === active) return;
    active = Boolean(isActive);
    emit(active ? "activated" : "deactivated");
  };

  window.Telegram = Object.assign(window.Telegram || {}, { WebApp: webApp });
})();
