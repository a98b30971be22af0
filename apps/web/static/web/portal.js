/* SonixNet customer portal: the behaviour of every page, on the REST API (/api/...).
 *
 * No framework and no build step. The page's template names the page (<body data-page>) and
 * carries the translated strings (#portal-strings, a JSON data block); everything shown from the
 * API goes into the page as text (textContent), never as markup.
 */
(function () {
  "use strict";

  const body = document.body;
  const stringsNode = document.getElementById("portal-strings");
  const S = stringsNode ? JSON.parse(stringsNode.textContent) : {};

  /* --- Strings ------------------------------------------------------------------------------ */

  function t(key, params) {
    let text = Object.prototype.hasOwnProperty.call(S, key) ? S[key] : key;
    if (params) {
      Object.keys(params).forEach(function (name) {
        text = text.split("%(" + name + ")s").join(String(params[name]));
      });
    }
    return text;
  }

  function label(group, value) {
    const key = group + "." + value;
    return Object.prototype.hasOwnProperty.call(S, key) ? S[key] : value;
  }

  const lang = document.documentElement.lang || "en";

  function formatDate(value, withTime) {
    if (!value) return "";
    const date = new Date(value.length === 10 ? value + "T00:00:00" : value);
    if (isNaN(date.getTime())) return value;
    const options = { year: "numeric", month: "short", day: "numeric" };
    if (withTime) {
      options.hour = "2-digit";
      options.minute = "2-digit";
    }
    return date.toLocaleString(lang, options);
  }

  // The API sends money as an integer in the currency's minor unit (whole yen for JPY): scale by
  // the currency's own number of decimals before formatting.
  function formatMoney(amount, currency) {
    const number = Number(amount);
    if (amount === null || amount === undefined || isNaN(number)) return "";
    try {
      const format = new Intl.NumberFormat(lang, { style: "currency", currency: currency || "JPY" });
      return format.format(number / Math.pow(10, format.resolvedOptions().maximumFractionDigits));
    } catch (error) {
      return amount + " " + (currency || "");
    }
  }

  function formatMonth(value) {
    const parts = String(value).split("-");
    const date = new Date(Number(parts[0]), Number(parts[1]) - 1, 1);
    if (isNaN(date.getTime())) return value;
    return date.toLocaleString(lang, { year: "numeric", month: "long" });
  }

  /* --- DOM ---------------------------------------------------------------------------------- */

  function $(selector, root) {
    return (root || document).querySelector(selector);
  }

  function $all(selector, root) {
    return Array.prototype.slice.call((root || document).querySelectorAll(selector));
  }

  /* el("a", {href: "/x", class: "button"}, "text", child, ...): text children are text nodes. */
  function el(tag, attrs) {
    const node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (name) {
        const value = attrs[name];
        if (value === null || value === undefined || value === false) return;
        if (name === "text") node.textContent = value;
        else if (name === "onclick") node.addEventListener("click", value);
        else if (value === true) node.setAttribute(name, "");
        else node.setAttribute(name, value);
      });
    }
    for (let i = 2; i < arguments.length; i += 1) {
      const child = arguments[i];
      if (child === null || child === undefined || child === false) continue;
      node.appendChild(typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child);
    }
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  function fill(node, children) {
    clear(node);
    children.forEach(function (child) {
      if (child) node.appendChild(child);
    });
    node.removeAttribute("aria-busy");
    return node;
  }

  function show(node, visible) {
    if (node) node.hidden = !visible;
  }

  function definitionList(rows) {
    const list = el("dl", { class: "facts" });
    rows.forEach(function (row) {
      if (!row || row[1] === null || row[1] === undefined || row[1] === "") return;
      list.appendChild(el("dt", null, row[0]));
      list.appendChild(el("dd", null, row[1]));
    });
    return list;
  }

  function badge(text, kind) {
    return el("span", { class: "badge badge-" + (kind || "neutral") }, text);
  }

  function emptyNote(text) {
    return el("p", { class: "empty" }, text);
  }

  /* --- The API ------------------------------------------------------------------------------ */

  let csrfToken = null;

  function cookie(name) {
    const match = document.cookie.split("; ").find(function (part) {
      return part.indexOf(name + "=") === 0;
    });
    return match ? decodeURIComponent(match.slice(name.length + 1)) : null;
  }

  /* The token of the CSRF cookie, which signing in or up rotates; asked of the API when the
   * browser has no cookie yet. */
  async function csrf(renew) {
    const current = cookie("csrftoken");
    if (current && !renew) return current;
    if (csrfToken && !renew) return csrfToken;
    const response = await fetch("/api/auth/csrf", { credentials: "same-origin", headers: { Accept: "application/json" } });
    const data = await response.json();
    csrfToken = data.csrf_token || cookie("csrftoken");
    return csrfToken;
  }

  function newKey() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return b.toString(16).padStart(2, "0");
    }).join("");
  }

  /* One reading of an error answer, whichever shape the API gives:
   * the envelope {"code", "message", "fields": {name: [{"code", "message"}]}, "details"},
   * or the older {"detail", "code"} and {field: [messages]}. */
  function readError(status, data) {
    const error = { status: status, code: "", message: "", fields: {}, details: null };
    if (data && typeof data === "object" && !Array.isArray(data)) {
      error.code = typeof data.code === "string" ? data.code : "";
      error.message = typeof data.message === "string" ? data.message : typeof data.detail === "string" ? data.detail : "";
      error.details = data.details || null;
      const fields = data.fields && typeof data.fields === "object" ? data.fields : null;
      const source = fields || data;
      Object.keys(source).forEach(function (name) {
        if (!fields && ["code", "message", "detail", "details", "request_id"].indexOf(name) >= 0) return;
        const value = source[name];
        const list = Array.isArray(value) ? value : [value];
        const messages = list
          .map(function (item) {
            if (typeof item === "string") return item;
            if (item && typeof item === "object") return item.message || item.detail || "";
            return "";
          })
          .filter(Boolean);
        if (messages.length) error.fields[name] = messages;
      });
      if (!error.code && !fields) {
        const first = Object.keys(source).find(function (name) {
          return Array.isArray(source[name]) && source[name].length && source[name][0] && source[name][0].code;
        });
        if (first) error.code = source[first][0].code;
      }
    }
    error.signedOut =
      status === 401 ||
      (status === 403 && ["not_authenticated", "authentication_failed", ""].indexOf(error.code) >= 0 && !error.fields.email);
    if (!error.message) {
      const nonField = error.fields.non_field_errors;
      if (nonField) {
        error.message = nonField.join(" ");
        delete error.fields.non_field_errors;
      } else if (Object.keys(error.fields).length) error.message = t("Please correct the fields marked below.");
      else if (status === 0) error.message = t("The portal could not be reached. Check your connection and try again.");
      else if (status === 429) error.message = t("Too many attempts. Please wait a moment and try again.");
      else error.message = t("Something went wrong. Please try again later.");
    }
    return error;
  }

  /* api("POST", "/api/orders", {json: {...}, key: "..."}) -> {ok, status, data, error, headers} */
  async function api(method, path, options, renewed) {
    options = options || {};
    const headers = { Accept: "application/json" };
    const init = { method: method, credentials: "same-origin", headers: headers };
    if (method !== "GET") {
      headers["X-CSRFToken"] = await csrf(renewed);
      if (options.form) init.body = options.form;
      else {
        headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(options.json || {});
      }
      if (options.key) headers["Idempotency-Key"] = options.key;
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (networkError) {
      return { ok: false, status: 0, data: null, error: readError(0, null) };
    }
    let data = null;
    const type = response.headers.get("Content-Type") || "";
    if (response.status !== 204 && type.indexOf("json") >= 0) {
      try {
        data = await response.json();
      } catch (parseError) {
        data = null;
      }
    }
    if (response.ok) return { ok: true, status: response.status, data: data, headers: response.headers };
    const text = data && (data.message || data.detail);
    const csrfRefused = (typeof text === "string" && text.indexOf("CSRF") >= 0) || (data && /csrf/i.test(String(data.code || "")));
    if (response.status === 403 && !renewed && csrfRefused) {
      return api(method, path, options, true);
    }
    return { ok: false, status: response.status, data: data, error: readError(response.status, data) };
  }

  function signInUrl() {
    return "/account/login?next=" + encodeURIComponent(location.pathname + location.search);
  }

  /* A GET a page cannot do without: goes to sign-in when signed out, shows the error otherwise. */
  async function load(path, target) {
    const result = await api("GET", path);
    if (!result.ok && result.error.signedOut) {
      location.assign(signInUrl());
      throw new Error("signed out");
    }
    if (!result.ok && target) showError(target, result.error);
    return result;
  }

  /* --- Errors and messages ------------------------------------------------------------------ */

  function alertBox(kind, message, next) {
    const box = el("div", { class: "notice notice-" + kind, role: kind === "error" ? "alert" : "status", tabindex: "-1" });
    box.appendChild(el("p", null, message));
    if (next) box.appendChild(next);
    return box;
  }

  function showError(target, error, next) {
    const box = alertBox("error", error.message, next || nextStep(error));
    fill(target, [box]);
    show(target, true);
    box.focus();
    return box;
  }

  function showNotice(target, message, next) {
    const box = alertBox("success", message, next);
    fill(target, [box]);
    show(target, true);
    box.focus();
    return box;
  }

  /* What to do next for the refusals a customer can act on. */
  function nextStep(error) {
    const steps = {
      eligibility_required: ["/account/services/internet", "Request an availability check"],
      eligibility_pending: ["/account/services/internet", "See your availability check"],
      id_verification_required: ["/account/settings/verification", "Verify your ID"],
      payment_method_required: ["/account/billing/payment-methods", "Add a payment method"],
      order_in_progress: ["/account/orders", "See your orders"],
      account_setup_in_progress: null,
      cancellation_unavailable: ["/account/support", "Contact support"],
      cancellation_already_requested: ["/account/services", "See your services"],
      email_taken: ["/account/login", "Sign in instead"],
      staff_account: ["/admin/", "Go to the agent console"],
    };
    const step = steps[error.code];
    if (step === undefined) return null;
    if (step === null) return el("p", null, t("Your account is still being set up. Please try again in a minute."));
    return el("p", null, el("a", { href: step[0] }, t(step[1])));
  }

  function fieldErrorId(form, name) {
    return (form.id || "form") + "-error-" + name;
  }

  function clearFormErrors(form) {
    $all(".field-error", form).forEach(function (node) {
      node.remove();
    });
    $all("[aria-invalid]", form).forEach(function (input) {
      input.removeAttribute("aria-invalid");
      const described = (input.getAttribute("aria-describedby") || "").split(" ").filter(function (id) {
        return id.indexOf("-error-") < 0;
      });
      if (described.length) input.setAttribute("aria-describedby", described.join(" "));
      else input.removeAttribute("aria-describedby");
    });
    const box = $("[data-role=form-errors]", form);
    if (box) {
      clear(box);
      box.hidden = true;
    }
  }

  function showFormErrors(form, error) {
    const box = $("[data-role=form-errors]", form);
    let firstInvalid = null;
    const unplaced = [];
    Object.keys(error.fields).forEach(function (name) {
      const input = form.elements.namedItem(name);
      const field = input && input.length && !input.tagName ? input[0] : input;
      if (!field) {
        unplaced.push(error.fields[name].join(" "));
        return;
      }
      const id = fieldErrorId(form, name);
      const message = el("p", { class: "field-error", id: id }, error.fields[name].join(" "));
      const wrapper = field.closest(".field") || field.parentNode;
      wrapper.appendChild(message);
      field.setAttribute("aria-invalid", "true");
      field.setAttribute("aria-describedby", ((field.getAttribute("aria-describedby") || "") + " " + id).trim());
      if (!firstInvalid) firstInvalid = field;
    });
    const summary = [error.message].concat(unplaced).join(" ");
    if (box) {
      const notice = showError(box, Object.assign({}, error, { message: summary }));
      if (firstInvalid && !unplaced.length && error.message === t("Please correct the fields marked below.")) firstInvalid.focus();
      else notice.focus();
    } else if (firstInvalid) firstInvalid.focus();
  }

  /* An address on one line: in Japanese the parts run together (〒150-0002 東京都渋谷区神宮前1-2-3
   * ビル101), in romaji they are separated by spaces. Empty when that address is not known. */
  function addressJa(a) {
    const street = [a.prefecture_ja, a.city_ja, a.address_line1_ja].join("");
    return street ? [a.postal_code ? "〒" + a.postal_code : "", street, a.address_line2_ja].filter(Boolean).join(" ") : "";
  }

  function addressRomaji(a) {
    return [a.postal_code ? "〒" + a.postal_code : "", a.prefecture, a.city, a.address_line1, a.address_line2].filter(Boolean).join(" ");
  }

  function formValues(form) {
    const values = {};
    new FormData(form).forEach(function (value, name) {
      if (value instanceof File) return;
      values[name] = typeof value === "string" ? value.trim() : value;
    });
    $all("input[type=checkbox]", form).forEach(function (box) {
      if (box.name && !box.value) values[box.name] = box.checked;
    });
    return values;
  }

  /* Submit handling: errors cleared, the button disabled while the request runs, one
   * Idempotency-Key per form kept until the request succeeds (so a retry reuses it). */
  function bindForm(form, handler) {
    if (!form) return;
    form.noValidate = false;
    let key = newKey();
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      clearFormErrors(form);
      const button = $("button[type=submit]", form);
      if (button) {
        button.disabled = true;
        button.setAttribute("aria-busy", "true");
      }
      try {
        const result = await handler(formValues(form), key);
        if (result && result.ok) key = newKey();
        else if (result && result.error) showFormErrors(form, result.error);
      } finally {
        if (button) {
          button.disabled = false;
          button.removeAttribute("aria-busy");
        }
      }
    });
  }

  function safeNext(value, fallback) {
    if (value && value.charAt(0) === "/" && value.charAt(1) !== "/" && value.charAt(1) !== "\\") return value;
    return fallback;
  }

  /* --- Signed-in frame: the customer, the bell, sign out -------------------------------------- */

  let me = null;

  async function requireCustomer() {
    const result = await api("GET", "/api/me");
    if (!result.ok) {
      location.assign(signInUrl());
      throw new Error("signed out");
    }
    me = result.data;
    const name = $("#portal-customer-name");
    if (name) name.textContent = [me.first_name, me.last_name].join(" ").trim() || me.email;
    show($("#portal-nav"), true);
    show($("#portal-account-actions"), true);
    show($("#portal-guest-actions"), false);
    setUpBell();
    return me;
  }

  async function optionalCustomer() {
    const result = await api("GET", "/api/me");
    if (result.ok) {
      me = result.data;
      show($("#portal-nav"), true);
      show($("#portal-account-actions"), true);
      show($("#portal-guest-actions"), false);
      setUpBell();
    }
    return result.ok ? result.data : null;
  }

  async function signOut() {
    await api("POST", "/api/auth/logout");
    location.assign("/account/login?signed_out=1");
  }

  const bell = {};

  function setUpBell() {
    bell.button = $("#bell-button");
    bell.panel = $("#bell-panel");
    bell.count = $("#bell-count");
    bell.list = $("#bell-list");
    bell.status = $("#bell-status");
    bell.more = $("#bell-more");
    if (!bell.button || bell.ready) return;
    bell.ready = true;
    bell.button.addEventListener("click", function () {
      toggleBell(bell.panel.hidden);
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && !bell.panel.hidden) {
        toggleBell(false);
        bell.button.focus();
      }
    });
    $("#bell-read-all").addEventListener("click", async function () {
      const result = await api("POST", "/api/notifications/read-all");
      if (result.ok) bell.status.textContent = t("All notifications marked read.");
      await refreshBell();
    });
    bell.more.addEventListener("click", async function () {
      const count = bell.list.querySelectorAll(".note").length;
      await loadBellPage(bell.next, true);
      const first = bell.list.querySelectorAll(".note")[count];
      const focusable = first && first.querySelector("a, button");
      if (focusable) focusable.focus();
      else bell.panel.focus();
    });
    refreshUnread();
  }

  function toggleBell(open) {
    bell.panel.hidden = !open;
    bell.button.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) {
      refreshBell().then(function () {
        bell.panel.focus();
      });
    }
  }

  async function refreshUnread() {
    const result = await api("GET", "/api/notifications/unread-count");
    if (!result.ok) return;
    const unread = result.data.unread_count;
    bell.count.textContent = unread > 0 ? countText(unread) : "";
    bell.count.hidden = unread === 0;
    bell.button.setAttribute("aria-label", t("Notifications: %(count)s unread", { count: countText(unread) }));
  }

  // The list is cursor-paginated (newest first): the first page replaces the list, "Show older"
  // follows the `next` URL the API gave and appends; `next` is null on the last page.
  async function refreshBell() {
    await loadBellPage("/api/notifications?page_size=20", false);
    await refreshUnread();
  }

  function sameOriginPath(url) {
    const parsed = new URL(url, location.href);
    return parsed.origin === location.origin ? parsed.pathname + parsed.search : null;
  }

  async function loadBellPage(url, append) {
    const path = url && sameOriginPath(url);
    if (!path) return;
    const result = await api("GET", path);
    if (!result.ok) {
      fill(bell.list, [el("li", null, result.error.message)]);
      bell.next = null;
      bell.more.hidden = true;
      return;
    }
    bell.next = result.data.next;
    bell.more.hidden = !bell.next;
    const items = result.data.results.map(function (note) {
      const item = el("li", { class: note.read ? "note" : "note note-unread" });
      item.appendChild(el("p", { class: "note-title" }, note.read ? "" : el("span", { class: "visually-hidden" }, t("Unread:") + " "), note.title));
      if (note.message) item.appendChild(el("p", { class: "note-message" }, note.message));
      item.appendChild(el("p", { class: "note-time" }, formatDate(note.created_at, true)));
      const actions = el("div", { class: "note-actions" });
      if (note.action_url) {
        actions.appendChild(
          el("a", {
            href: safeNext(note.action_url, "/account"),
            class: "button button-small",
            onclick: function () {
              if (!note.read) api("POST", "/api/notifications/" + note.id + "/read");
            },
          }, note.action_label || t("Open"))
        );
      }
      if (!note.read) {
        actions.appendChild(
          el("button", {
            type: "button",
            class: "button button-small button-secondary",
            onclick: async function () {
              await api("POST", "/api/notifications/" + note.id + "/read");
              bell.status.textContent = t("Marked read.");
              await refreshBell();
            },
          }, t("Mark read"), el("span", { class: "visually-hidden" }, ": " + note.title))
        );
      }
      actions.appendChild(
        el("button", {
          type: "button",
          class: "button button-small button-secondary",
          onclick: async function () {
            await api("POST", "/api/notifications/" + note.id + "/dismiss");
            bell.status.textContent = t("Notification dismissed.");
            await refreshBell();
            bell.panel.focus();
          },
        }, t("Dismiss"), el("span", { class: "visually-hidden" }, ": " + note.title))
      );
      item.appendChild(actions);
      return item;
    });
    if (append) {
      items.forEach(function (item) {
        bell.list.appendChild(item);
      });
      return;
    }
    fill(bell.list, items.length ? items : [el("li", { class: "empty" }, t("No notifications."))]);
  }

  /* --- Pages -------------------------------------------------------------------------------- */

  const pages = {};

  pages.home = async function () {
    await optionalCustomer();
  };

  pages.login = function () {
    const params = new URLSearchParams(location.search);
    if (params.get("signed_out")) showNotice($("#page-notice"), t("You are signed out."));
    if (params.get("reset")) showNotice($("#page-notice"), t("Your password was changed. Sign in with the new one."));
    const next = safeNext(params.get("next"), "/account");
    const signup = $("#signup-link");
    if (signup && params.get("next")) signup.href = "/account/signup?next=" + encodeURIComponent(next);
    bindForm($("#login-form"), async function (values) {
      const result = await api("POST", "/api/auth/login", { json: { email: values.email, password: values.password } });
      if (result.ok) location.assign(next);
      return result;
    });
  };

  pages.signup = function () {
    const next = safeNext(new URLSearchParams(location.search).get("next"), "/account");
    bindForm($("#signup-form"), async function (values, key) {
      if (!values.birth_date) delete values.birth_date;
      const result = await api("POST", "/api/auth/signup", { json: values, key: key });
      if (result.ok) location.assign(next);
      return result;
    });
  };

  pages.reset_password = function () {
    // The emailed link opened in a tab already on this page changes only the fragment.
    window.addEventListener("hashchange", function () {
      location.reload();
    });
    const fragment = new URLSearchParams(location.hash.replace(/^#/, ""));
    const uid = fragment.get("uid");
    const token = fragment.get("token");
    const confirmForm = $("#reset-confirm-form");
    const requestForm = $("#reset-request-form");
    show(confirmForm, Boolean(uid && token));
    show(requestForm, !(uid && token));
    show($("#reset-request-intro"), !(uid && token));
    show($("#reset-confirm-intro"), Boolean(uid && token));
    bindForm(requestForm, async function (values) {
      const result = await api("POST", "/api/auth/password/reset", { json: { email: values.email } });
      if (result.ok) {
        showNotice($("#page-notice"), t("If an account uses this address, we have emailed it a link to choose a new password. The link works once."));
        requestForm.reset();
      }
      return result;
    });
    bindForm(confirmForm, async function (values) {
      const result = await api("POST", "/api/auth/password/reset/confirm", {
        json: { uid: uid, token: token, new_password: values.new_password },
      });
      if (result.ok) {
        history.replaceState(null, "", location.pathname);
        location.assign("/account/login?reset=1");
      } else if (result.error.fields.uid || result.error.fields.token) {
        result.error.message = t("This reset link is invalid or has expired. Ask for a new one below.");
        show(requestForm, true);
      }
      return result;
    });
  };

  pages.logout = async function () {
    const button = $("#logout-button");
    button.addEventListener("click", signOut);
    const result = await api("GET", "/api/me");
    if (!result.ok) location.assign("/account/login?signed_out=1");
  };

  pages.dashboard = async function () {
    await requireCustomer();
    const result = await load("/api/me/status", $("#dashboard-tasks"));
    if (!result.ok) return;
    const status = result.data;
    const stats = status.summary.stats;
    fill($("#dashboard-stats"), [
      stat(t("Active services"), stats.active_services, "/account/services"),
      stat(t("Orders in progress"), stats.orders_in_progress, "/account/orders"),
      stat(t("Unpaid invoices"), stats.unpaid_invoices, "/account/billing/invoices"),
      stat(t("Unread notifications"), stats.unread_notifications, null),
    ]);
    const tasks = status.tasks.slice().sort(function (a, b) {
      return a.priority - b.priority;
    });
    fill(
      $("#dashboard-tasks"),
      tasks.length
        ? [
            el(
              "ul",
              { class: "cards" },
              ...tasks.map(function (task) {
                return el(
                  "li",
                  { class: "card task task-" + task.type },
                  el("h3", null, task.title),
                  el("p", null, task.description),
                  el("a", { class: "button", href: safeNext(task.action_url, "/account") }, task.action_label)
                );
              })
            ),
          ]
        : [emptyNote(t("Nothing to do right now."))]
    );
    const eligibility = status.internet_eligibility;
    const verification = status.residence_card_verification;
    fill($("#dashboard-status"), [
      definitionList([
        [t("Internet availability"), label("eligibility", eligibility.status || "none") + (eligibility.offering ? " (" + eligibility.offering + ")" : "")],
        [t("ID verification"), label("verification", verification.status || "none")],
        [t("Payment methods"), status.payment_methods.total_count === null ? t("Not known yet") : String(status.payment_methods.total_count)],
      ]),
    ]);
    const next = status.summary.next_invoice;
    if (next) {
      fill($("#dashboard-invoice"), [
        definitionList([
          [t("Invoice"), next.number],
          [t("Total"), formatMoney(next.total, next.currency)],
          [t("Due"), formatDate(next.due_on) + (next.is_overdue ? " (" + t("overdue") + ")" : "")],
        ]),
        el("a", { href: "/account/billing/invoices" }, t("See your invoices")),
      ]);
    } else fill($("#dashboard-invoice"), [emptyNote(t("No invoice due."))]);
    const activity = status.summary.recent_activity;
    fill(
      $("#dashboard-activity"),
      activity.length
        ? [
            el(
              "ul",
              { class: "plain-list" },
              ...activity.map(function (item) {
                const text = item.link ? el("a", { href: safeNext(item.link, "/account") }, item.title) : el("span", null, item.title);
                return el("li", null, text, " ", el("span", { class: "muted" }, formatDate(item.at, true)));
              })
            ),
          ]
        : [emptyNote(t("No recent activity."))]
    );
  };

  // The API's counts stop at 100, which means "100 or more".
  function countText(value) {
    return value > 99 ? "99+" : String(value);
  }

  function stat(name, value, href) {
    const number = el("span", { class: "stat-value" }, countText(value));
    const content = href ? el("a", { href: href }, number, el("span", { class: "stat-name" }, name)) : el("span", null, number, el("span", { class: "stat-name" }, name));
    return el("li", { class: "stat" }, content);
  }

  /* Plans ---------------------------------------------------------------------------------- */

  function planCard(item, type, extra) {
    const card = el("li", { class: "card plan" });
    card.appendChild(el("h3", null, item.name));
    if (item.description) card.appendChild(el("p", null, item.description));
    card.appendChild(el("p", { class: "price" }, formatMoney(item.price, item.currency), " ", el("span", { class: "muted" }, label("cycle", item.billing_cycle))));
    if (extra) card.appendChild(extra);
    card.appendChild(
      el("a", { class: "button", href: "/shop/checkout?type=" + type + "&plan=" + item.id }, t("Choose"), el("span", { class: "visually-hidden" }, ": " + item.name))
    );
    return card;
  }

  function planList(items, type, extraFor) {
    if (!items.length) return emptyNote(t("No plans are offered right now."));
    return el(
      "ul",
      { class: "cards" },
      ...items.map(function (item) {
        return planCard(item, type, extraFor ? extraFor(item) : null);
      })
    );
  }

  pages.shop = async function () {
    await optionalCustomer();
    const [internet, sim, vpn] = await Promise.all([api("GET", "/api/catalog/internet"), api("GET", "/api/catalog/sim"), api("GET", "/api/catalog/vpn")]);
    fill($("#shop-internet"), [internet.ok ? planList(internet.data.plans, "internet", internetExtra) : alertBox("error", internet.error.message)]);
    fill($("#shop-sim"), [sim.ok ? planList(sim.data.plans, "sim", simExtra) : alertBox("error", sim.error.message)]);
    fill($("#shop-vpn"), [vpn.ok ? planList(vpn.data.plans, "vpn") : alertBox("error", vpn.error.message)]);
  };

  function internetExtra(item) {
    return item.eligibility_offering ? el("p", { class: "muted" }, t("For addresses eligible for %(offering)s", { offering: item.eligibility_offering })) : null;
  }

  function simExtra(item) {
    return item.is_family_discount ? el("p", null, badge(t("Family discount"), "success")) : null;
  }

  pages.sim = async function () {
    await optionalCustomer();
    const result = await api("GET", "/api/catalog/sim");
    if (!result.ok) return showError($("#plans"), result.error);
    const family = result.data.plans.filter(function (p) {
      return p.is_family_discount;
    });
    fill($("#plans"), [planList(result.data.plans, "sim", simExtra)]);
    show($("#family-discount-note"), family.length > 0);
  };

  pages.vpn = async function () {
    await optionalCustomer();
    const result = await api("GET", "/api/catalog/vpn");
    if (!result.ok) return showError($("#plans"), result.error);
    fill($("#plans"), [planList(result.data.plans, "vpn")]);
  };

  pages.internet = async function () {
    await requireCustomer();
    const form = $("#eligibility-form");
    async function render() {
      const [eligibility, catalog] = await Promise.all([load("/api/eligibility-request", $("#eligibility-status")), api("GET", "/api/catalog/internet")]);
      if (!eligibility.ok) return;
      const e = eligibility.data;
      const rows = [
        [t("Status"), label("eligibility", e.status || "none")],
        [t("Offering"), e.offering],
        [t("Requested"), formatDate(e.requested_at, true)],
        [t("Checked"), formatDate(e.checked_at, true)],
        [t("Expected time"), e.status === "pending" ? e.expected_timeline : ""],
        [t("Notes from our team"), e.notes],
      ];
      if (e.address) rows.push([t("Address (Japanese)"), addressJa(e.address)], [t("Address (romaji)"), addressRomaji(e.address)]);
      const children = [definitionList(rows)];
      if (e.status === "pending") children.push(el("p", null, e.case_submitted ? t("Our team has your request.") : t("Your request is on its way to our team.")));
      if (e.status === "ineligible") children.push(el("p", null, t("The service is not available at this address. You can ask again for another address, or contact support.")));
      fill($("#eligibility-status"), children);
      show($("#eligibility-request"), e.status !== "pending" && e.status !== "eligible");
      if (!catalog.ok) return showError($("#plans"), catalog.error);
      if (e.status === "eligible") {
        fill($("#plans"), [planList(catalog.data.plans, "internet", internetExtra)]);
      } else {
        fill($("#plans"), [emptyNote(e.status === "pending" ? t("You can order once our team has confirmed your address.") : t("Ask for an availability check to see the plans for your address."))]);
      }
    }
    if (me) {
      ["postal_code", "prefecture", "city", "address_line1", "address_line2", "prefecture_ja", "city_ja", "address_line1_ja", "address_line2_ja"].forEach(function (name) {
        if (form.elements[name] && me[name]) form.elements[name].value = me[name];
      });
    }
    bindForm(form, async function (values, key) {
      if (!values.housing_type) delete values.housing_type; // "Not sure": the API takes no value, not ""
      const result = await api("POST", "/api/eligibility-request", { json: values, key: key });
      if (result.ok) {
        showNotice($("#page-notice"), t("Thank you. Our team will check your address; we will notify you of the result."));
        await render();
      }
      return result;
    });
    await render();
  };

  /* Checkout: registers a new customer on the way, then places the order. */
  pages.checkout = async function () {
    const params = new URLSearchParams(location.search);
    const type = ["internet", "sim", "vpn"].indexOf(params.get("type")) >= 0 ? params.get("type") : "internet";
    const planId = Number(params.get("plan"));
    const customer = await optionalCustomer();
    const catalog = await api("GET", "/api/catalog/" + type);
    if (!catalog.ok) return showError($("#checkout-summary"), catalog.error);
    const plan = catalog.data.plans.find(function (p) {
      return p.id === planId;
    });
    if (!plan) {
      fill($("#checkout-summary"), [alertBox("error", t("Choose a plan first."), el("p", null, el("a", { href: "/shop" }, t("See the plans"))))]);
      return;
    }
    const summary = [el("h3", null, plan.name), el("p", { class: "price" }, formatMoney(plan.price, plan.currency), " ", el("span", { class: "muted" }, label("cycle", plan.billing_cycle)))];
    fill($("#checkout-summary"), summary);
    const options = $("#checkout-options");
    const groups = [];
    if (type === "internet") groups.push(["installations", t("Installation"), "radio"]);
    if (type !== "vpn") groups.push(["activation_fees", t("Activation fee"), "included"]);
    groups.push(["add_ons", t("Add-ons"), "checkbox"]);
    groups.forEach(function (group) {
      const items = catalog.data[group[0]] || [];
      if (!items.length) return;
      const fieldset = el("fieldset", { class: "choices" }, el("legend", null, group[1]));
      items.forEach(function (item, index) {
        const id = "item-" + item.id;
        const input = el("input", {
          type: group[2] === "radio" ? "radio" : "checkbox",
          id: id,
          name: group[2] === "radio" ? group[0] : "item-" + item.id,
          value: String(item.id),
          checked: group[2] === "included" || (group[2] === "radio" && index === 0),
          disabled: group[2] === "included",
          "data-product": String(item.id),
        });
        fieldset.appendChild(el("div", { class: "choice" }, input, el("label", { for: id }, item.name + " — " + formatMoney(item.price, item.currency) + " (" + label("cycle", item.billing_cycle) + ")")));
      });
      options.appendChild(fieldset);
    });
    show($("#checkout-register"), !customer);
    show($("#checkout-place"), Boolean(customer));
    const registerForm = $("#registration-form");
    $("#checkout-login-link").href = "/account/login?next=" + encodeURIComponent(location.pathname + location.search);
    registerForm.elements.order_type.value = type;
    bindForm(registerForm, async function (values, key) {
      if (!values.birth_date) delete values.birth_date;
      const result = await api("POST", "/api/checkout/registration", { json: values, key: key });
      if (result.ok) {
        me = result.data;
        show($("#checkout-register"), false);
        show($("#checkout-place"), true);
        show($("#portal-nav"), true);
        show($("#portal-account-actions"), true);
        show($("#portal-guest-actions"), false);
        setUpBell();
        showNotice($("#page-notice"), t("Your account is created and you are signed in."));
      }
      return result;
    });
    let orderKey = newKey();
    const placeButton = $("#place-order");
    placeButton.addEventListener("click", async function () {
      const target = $("#checkout-result");
      placeButton.disabled = true;
      const items = [{ product_id: plan.id, quantity: 1 }];
      $all("input[data-product]", options).forEach(function (input) {
        if (input.checked) items.push({ product_id: Number(input.value), quantity: 1 });
      });
      const result = await api("POST", "/api/orders", { json: { product_type: type, items: items }, key: orderKey });
      placeButton.disabled = false;
      if (result.ok) {
        orderKey = newKey();
        show($("#checkout-place"), false);
        showNotice(target, t("Thank you! Your order is placed. Our team reviews it and we will notify you when it is approved."), el("p", null, el("a", { href: "/account/orders" }, t("Follow your order"))));
      } else if (result.error.signedOut) {
        location.assign(signInUrl());
      } else {
        const retry =
          result.error.code === "account_setup_in_progress" || result.error.code === "idempotency_key_in_progress"
            ? el("p", null, t("Your account is still being set up. Please try again in a minute."))
            : null;
        showError(target, result.error, retry);
      }
    });
  };

  /* Services and cancellation ---------------------------------------------------------------- */

  pages.services = async function () {
    await requireCustomer();
    const result = await load("/api/subscriptions", $("#services"));
    if (!result.ok) return;
    const services = result.data.results;
    fill(
      $("#services"),
      services.length
        ? [
            el(
              "ul",
              { class: "cards" },
              ...services.map(function (service) {
                const card = el("li", { class: "card service", "data-service": String(service.id) });
                card.appendChild(el("h3", null, service.name));
                card.appendChild(el("p", null, badge(label("service", service.status), service.status === "active" ? "success" : "neutral")));
                const rows = [
                  [t("Type"), label("product", service.product_type)],
                  [t("Amount"), service.recurring_amount ? formatMoney(service.recurring_amount, "JPY") + " / " + label("cycle", service.billing_cycle) : ""],
                  [t("Since"), formatDate(service.registered_on)],
                  [t("Next payment"), formatDate(service.next_due_on)],
                ];
                const cancellation = service.cancellation;
                if (cancellation && ["cancelling", "cancelled"].indexOf(cancellation.stage) >= 0) {
                  rows.push([t("Cancellation"), label("stage", cancellation.stage)]);
                  rows.push([t("Service ends"), formatDate(cancellation.scheduled_at, true)]);
                  if (cancellation.line_return_status) rows.push([t("Equipment return"), label("line_return", cancellation.line_return_status)]);
                }
                card.appendChild(definitionList(rows));
                // Only a service an Opportunity names can be cancelled online (not a one-time fee).
                const cancellable =
                  service.status === "active" &&
                  Boolean(cancellation) &&
                  ["internet", "sim"].indexOf(String(service.product_type).toLowerCase()) >= 0 &&
                  !(cancellation && ["cancelling", "cancelled"].indexOf(cancellation.stage) >= 0);
                if (cancellable) {
                  card.appendChild(el("a", { class: "button button-secondary", href: "/account/services/" + service.id + "/cancel" }, t("Cancel this service"), el("span", { class: "visually-hidden" }, ": " + service.name)));
                }
                return card;
              })
            ),
          ]
        : [emptyNote(t("You have no services yet."))]
    );
  };

  pages.cancel = async function () {
    await requireCustomer();
    const id = location.pathname.split("/")[3];
    const service = await load("/api/subscriptions/" + id, $("#cancel-service"));
    if (!service.ok) return;
    fill($("#cancel-service"), [el("h2", null, service.data.name), definitionList([[t("Status"), label("service", service.data.status)]])]);
    const form = $("#cancel-form");
    const months = await api("GET", "/api/subscriptions/" + id + "/cancellation");
    const choices = $("#cancel-months");
    let offered = [];
    if (months.ok && months.data && months.data.pending_request) {
      const pending = months.data.pending_request;
      showNotice(
        $("#page-notice"),
        t("Your cancellation is requested. The service ends on %(date)s.", { date: formatDate(pending.end_date) }),
        el("p", null, el("a", { href: "/account/services" }, t("Back to your services")))
      );
      return;
    }
    if (!months.ok && months.status !== 404 && months.status !== 405) {
      // Not possible online (a VPN service, say): the API says why and what to do.
      showError($("#page-notice"), months.error, el("p", null, el("a", { href: "/account/support" }, t("Contact support"))));
      return;
    }
    if (months.ok && months.data && Array.isArray(months.data.months)) {
      offered = months.data.months;
      const fieldset = el("fieldset", { class: "choices" }, el("legend", null, t("When should the service end?")));
      offered.forEach(function (month) {
        const inputId = "month-" + month.month;
        fieldset.appendChild(
          el(
            "div",
            { class: "choice" },
            el("input", { type: "radio", name: "cancellation_month", id: inputId, value: month.month, checked: month.month === months.data.earliest_month, required: true }),
            el("label", { for: inputId }, t("%(month)s: the service ends on %(date)s", { month: formatMonth(month.month), date: formatDate(month.end_date) }))
          )
        );
      });
      fill(choices, [fieldset]);
    } else {
      fill(choices, [el("p", null, t("Requested before the 25th, the service ends on the last day of this month; from the 25th on, on the last day of next month."))]);
    }
    show(form, true);
    bindForm(form, async function (values, key) {
      const payload = { confirm: Boolean(values.confirm), comments: values.comments || "" };
      if (offered.length && values.cancellation_month) payload.cancellation_month = values.cancellation_month;
      const result = await api("POST", "/api/subscriptions/" + id + "/cancellation", { json: payload, key: key });
      if (result.ok) {
        show(form, false);
        showNotice(
          $("#page-notice"),
          t("Your cancellation is requested. The service ends on %(date)s.", { date: formatDate(result.data.scheduled_at || result.data.scheduled_for, false) }),
          el("p", null, el("a", { href: "/account/services" }, t("Back to your services")))
        );
      }
      return result;
    });
  };

  /* Orders ------------------------------------------------------------------------------------ */

  const ORDER_STEPS = ["placed", "pending_review", "approved", "activating", "activated"];

  function orderStep(order) {
    if (order.activation_status === "activated" || order.status === "activated" || order.status === "completed") return 4;
    if (order.activation_status === "activating") return 3;
    if (order.status === "approved") return 2;
    if (order.status === "pending_review" || order.activation_status === "pending_review") return 1;
    return 0;
  }

  pages.orders = async function () {
    await requireCustomer();
    const result = await load("/api/orders", $("#orders"));
    if (!result.ok) return;
    const orders = result.data.results;
    fill(
      $("#orders"),
      orders.length
        ? [
            el(
              "ul",
              { class: "cards" },
              ...orders.map(function (order) {
                const card = el("li", { class: "card order", "data-order": String(order.id) });
                card.appendChild(el("h3", null, order.number ? t("Order %(number)s", { number: order.number }) : t("Order placed %(date)s", { date: formatDate(order.created_at) })));
                card.appendChild(el("p", null, badge(label("order", order.status), order.status === "cancelled" ? "danger" : "neutral"), " ", order.hold_reason ? badge(t("On hold"), "warning") : null, order.hold_reason ? " " : null, order.activation_status ? badge(label("activation", order.activation_status), order.activation_status === "failed" ? "danger" : order.activation_status === "activated" ? "success" : "neutral") : null));
                // What the agent wrote, shown as text (never markup).
                if (order.rejection_reason) card.appendChild(el("div", { class: "notice notice-error", "data-reason": "rejection" }, el("p", null, el("strong", null, t("Why we could not accept this order"))), el("p", null, order.rejection_reason)));
                if (order.hold_reason) card.appendChild(el("div", { class: "notice notice-info", "data-reason": "hold" }, el("p", null, el("strong", null, t("Why your order is on hold"))), el("p", null, order.hold_reason)));
                if (order.status !== "cancelled" && order.activation_status !== "failed") {
                  const reached = orderStep(order);
                  const steps = el("ol", { class: "progress", "aria-label": t("Progress") });
                  ORDER_STEPS.forEach(function (step, index) {
                    const item = el("li", { class: index <= reached ? "done" : "" }, label("step", step));
                    if (index === reached) item.setAttribute("aria-current", "step");
                    steps.appendChild(item);
                  });
                  card.appendChild(steps);
                }
                if (order.activation_error) {
                  const next = order.activation_error.code === "payment_method_missing" || order.activation_error.code === "payment_failed"
                    ? el("p", null, el("a", { href: "/account/billing/payment-methods" }, t("Check your payment methods")))
                    : el("p", null, el("a", { href: "/account/support" }, t("Contact support")));
                  card.appendChild(alertBox("error", order.activation_error.message || t("Activation failed."), next));
                }
                card.appendChild(
                  el(
                    "ul",
                    { class: "plain-list" },
                    ...order.items.map(function (item) {
                      return el("li", null, item.product_name + " × " + item.quantity + " — " + formatMoney(item.line_total, order.currency));
                    })
                  )
                );
                card.appendChild(definitionList([[t("Total"), formatMoney(order.total, order.currency)], [t("Placed"), formatDate(order.created_at, true)]]));
                if (!order.submitted_to_salesforce) card.appendChild(el("p", { class: "muted" }, t("Your order is on its way to our team.")));
                return card;
              })
            ),
          ]
        : [emptyNote(t("You have no orders yet.")), el("a", { href: "/shop", class: "button" }, t("See the plans"))]
    );
  };

  /* Billing ----------------------------------------------------------------------------------- */

  pages.invoices = async function () {
    await requireCustomer();
    const result = await load("/api/billing/invoices", $("#invoices"));
    if (!result.ok) return;
    const invoices = result.data.results;
    if (!invoices.length) return fill($("#invoices"), [emptyNote(t("You have no invoices yet."))]);
    const table = el(
      "table",
      { class: "table" },
      el("caption", { class: "visually-hidden" }, t("Your invoices")),
      el("thead", null, el("tr", null, ...[t("Invoice"), t("Status"), t("Issued"), t("Due"), t("Total")].map(function (h) {
        return el("th", { scope: "col" }, h);
      })))
    );
    const tbody = el("tbody");
    invoices.forEach(function (invoice) {
      tbody.appendChild(
        el(
          "tr",
          null,
          el("th", { scope: "row" }, invoice.number),
          el("td", null, badge(label("invoice", invoice.status), invoice.status === "paid" ? "success" : invoice.status === "unpaid" ? "warning" : "neutral")),
          el("td", null, formatDate(invoice.issued_on)),
          el("td", null, formatDate(invoice.due_on)),
          el("td", null, formatMoney(invoice.total, invoice.currency))
        )
      );
    });
    table.appendChild(tbody);
    fill($("#invoices"), [el("div", { class: "table-wrap" }, table)]);
  };

  pages.payment_methods = async function () {
    await requireCustomer();
    async function render() {
      const result = await load("/api/billing/payment-methods", $("#payment-methods"));
      if (!result.ok) return;
      const methods = result.data.payment_methods;
      fill(
        $("#payment-methods"),
        methods.length
          ? [
              el(
                "ul",
                { class: "cards" },
                ...methods.map(function (method) {
                  const title = method.card_type ? method.card_type + " •••• " + method.card_last_four : method.bank_name || method.description || label("payment", method.type);
                  return el("li", { class: "card" }, el("h3", null, title), definitionList([[t("Type"), label("payment", method.type)], [t("Expires"), method.expires_on ? formatDate(method.expires_on) : ""], [t("Description"), method.description]]));
                })
              ),
            ]
          : [emptyNote(t("You have no payment method on file."))]
      );
    }
    function contactSupport() {
      return el("p", null, t("Adding a payment method online is not available yet."), " ", el("a", { href: "/account/support" }, t("Contact support")));
    }
    $("#add-payment-method").addEventListener("click", async function () {
      const result = await api("POST", "/api/billing/payment-methods/add-link");
      if (result.ok && result.data && result.data.url) {
        showNotice($("#page-notice"), t("The billing page opens in a new window. Come back here and choose “Refresh” when you are done."));
        window.open(result.data.url, "_blank", "noopener");
      } else if (!result.ok && (result.status === 404 || result.status === 405)) {
        fill($("#page-notice"), [alertBox("info", t("Please contact support to add a payment method."), contactSupport())]);
        show($("#page-notice"), true);
      } else if (!result.ok) showError($("#page-notice"), result.error);
    });
    $("#refresh-payment-methods").addEventListener("click", async function () {
      const result = await api("POST", "/api/billing/payment-methods/refresh");
      if (result.ok) showNotice($("#page-notice"), t("Payment methods refreshed."));
      else if (result.status !== 404 && result.status !== 405) showError($("#page-notice"), result.error);
      await render();
    });
    await render();
  };

  /* Support ----------------------------------------------------------------------------------- */

  pages.support = async function () {
    await requireCustomer();
    const form = $("#support-form");
    const services = await api("GET", "/api/subscriptions");
    if (services.ok) {
      services.data.results.forEach(function (service) {
        form.elements.service_id.appendChild(el("option", { value: String(service.id) }, service.name));
      });
    }
    async function render() {
      const result = await load("/api/support/cases", $("#cases"));
      if (!result.ok) return;
      const cases = result.data.results;
      fill(
        $("#cases"),
        cases.length
          ? [
              el(
                "ul",
                { class: "plain-list cases" },
                ...cases.map(function (item) {
                  const title = item.kind === "cancellation_request" ? el("span", null, item.subject) : el("a", { href: "/account/support/" + item.id }, item.subject);
                  return el("li", { class: "case" }, title, " ", badge(item.state_label, item.state === "closed" ? "neutral" : "info"), " ", el("span", { class: "muted" }, (item.case_number ? "#" + item.case_number + " · " : "") + formatDate(item.updated_at, true)));
                })
              ),
            ]
          : [emptyNote(t("You have no support cases."))]
      );
    }
    bindForm(form, async function (values, key) {
      const payload = { subject: values.subject, category: values.category, description: values.description };
      if (values.service_id) payload.service_id = Number(values.service_id);
      const result = await api("POST", "/api/support/cases", { json: payload, key: key });
      if (result.ok) {
        form.reset();
        showNotice($("#page-notice"), t("Your request is sent. We will answer here."), el("p", null, el("a", { href: "/account/support/" + result.data.id }, t("Open the case"))));
        await render();
      }
      return result;
    });
    await render();
  };

  pages.support_case = async function () {
    await requireCustomer();
    const id = location.pathname.split("/")[3];
    async function render() {
      const result = await load("/api/support/cases/" + id, $("#case"));
      if (!result.ok) return;
      const item = result.data;
      const comments = el(
        "ol",
        { class: "comments" },
        ...item.comments.map(function (comment) {
          return el("li", { class: comment.from_agent ? "comment comment-agent" : "comment" }, el("p", { class: "comment-meta" }, (comment.from_agent ? t("SonixNet support") : comment.author_name) + " · " + formatDate(comment.created_at, true) + (comment.submitting ? " · " + t("sending…") : "")), el("p", { class: "comment-body" }, comment.body));
        })
      );
      fill($("#case"), [
        el("h2", null, item.subject),
        el("p", null, badge(item.state_label, "info"), item.case_number ? " #" + item.case_number : ""),
        definitionList([[t("Category"), item.category ? label("category", item.category) : ""], [t("Service"), item.related_service ? item.related_service.name : ""], [t("Opened"), formatDate(item.created_at, true)]]),
        item.description ? el("p", { class: "case-description" }, item.description) : null,
        el("h3", null, t("Replies")),
        item.comments.length ? comments : emptyNote(t("No replies yet.")),
      ]);
      show($("#reply-form"), item.state !== "closed" && item.kind === "support_ticket");
    }
    bindForm($("#reply-form"), async function (values, key) {
      const result = await api("POST", "/api/support/cases/" + id + "/comments", { json: { body: values.body }, key: key });
      if (result.ok) {
        $("#reply-form").reset();
        await render();
        $("#page-notice").hidden = true;
      }
      return result;
    });
    await render();
  };

  /* Settings ---------------------------------------------------------------------------------- */

  pages.settings = async function () {
    const customer = await requireCustomer();
    fill($("#profile"), [
      definitionList([
        [t("Name"), [customer.first_name, customer.last_name].join(" ")],
        [t("Email"), customer.email],
        [t("Customer number"), customer.customer_number],
        [t("Phone"), customer.phone_number],
        [t("Address (Japanese)"), addressJa(customer)],
        [t("Address (romaji)"), addressRomaji(customer)],
      ]),
    ]);
    bindForm($("#password-form"), async function (values) {
      if (values.new_password !== values.new_password_again) {
        return { ok: false, error: { message: t("Please correct the fields marked below."), fields: { new_password_again: [t("The two passwords differ.")] } } };
      }
      const result = await api("POST", "/api/auth/password/change", { json: { current_password: values.current_password, new_password: values.new_password } });
      if (result.ok) {
        $("#password-form").reset();
        showNotice($("#page-notice"), t("Your password is changed."));
      }
      return result;
    });
  };

  /* ID verification: the same checks as the server before anything is sent. */
  const CARD_TYPES = { png: "image/png", jpeg: "image/jpeg", pdf: "application/pdf" };
  const MAX_IMAGE_SIDE = 8192;
  const MAX_IMAGE_PIXELS = 4096 * 4096;

  function sniff(bytes) {
    if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return CARD_TYPES.png;
    if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return CARD_TYPES.jpeg;
    if (bytes.length >= 5 && String.fromCharCode.apply(null, Array.prototype.slice.call(bytes, 0, 5)) === "%PDF-") return CARD_TYPES.pdf;
    return null;
  }

  function readAs(file, how) {
    return new Promise(function (resolve, reject) {
      const reader = new FileReader();
      reader.onload = function () {
        resolve(reader.result);
      };
      reader.onerror = function () {
        reject(reader.error);
      };
      if (how === "url") reader.readAsDataURL(file);
      else reader.readAsArrayBuffer(file.slice(0, 16));
    });
  }

  function imageSize(url) {
    return new Promise(function (resolve) {
      const image = new Image();
      image.onload = function () {
        resolve([image.naturalWidth, image.naturalHeight]);
      };
      image.onerror = function () {
        resolve(null);
      };
      image.src = url;
    });
  }

  async function checkCard(file, maxBytes) {
    if (!file) return { error: t("Choose a file.") };
    if (file.size === 0) return { error: t("The file is empty.") };
    if (file.size > maxBytes) return { error: t("The file is larger than %(size)s MB.", { size: Math.floor(maxBytes / 1048576) }) };
    const type = sniff(new Uint8Array(await readAs(file, "head")));
    if (!type) return { error: t("Upload a PNG or JPEG photo, or a PDF.") };
    if (type === CARD_TYPES.pdf) return { type: type };
    const url = await readAs(file, "url");
    const size = await imageSize(url);
    if (!size) return { error: t("This image cannot be read. Take the photo again.") };
    if (Math.max(size[0], size[1]) > MAX_IMAGE_SIDE || size[0] * size[1] > MAX_IMAGE_PIXELS) return { error: t("The image is too large in pixels. Take a smaller photo.") };
    return { type: type, url: url };
  }

  pages.verification = async function () {
    await requireCustomer();
    const form = $("#card-form");
    const input = $("#card-file");
    const preview = $("#card-preview");
    const maxBytes = Number(form.getAttribute("data-max-bytes"));
    input.addEventListener("change", async function () {
      clearFormErrors(form);
      clear(preview);
      const file = input.files[0];
      if (!file) return;
      const checked = await checkCard(file, maxBytes);
      if (checked.error) {
        showFormErrors(form, { message: t("Please correct the fields marked below."), fields: { file: [checked.error] } });
        return;
      }
      if (checked.url) preview.appendChild(el("img", { src: checked.url, alt: t("Preview of your residence card") }));
      else preview.appendChild(el("p", null, t("PDF selected: %(name)s", { name: file.name })));
    });
    async function render() {
      const result = await load("/api/verification/residence-card", $("#card-status"));
      if (!result.ok) return;
      const card = result.data;
      const rows = [
        [t("Status"), label("verification", card.status || "none")],
        [t("Submitted"), formatDate(card.submitted_at, true)],
        [t("Verified"), formatDate(card.verified_at, true)],
      ];
      const children = [definitionList(rows)];
      if (card.status === "submitted") children.push(el("p", null, t("Our team is checking your card, usually within 1-2 business days. We will notify you.")));
      if (card.status === "verified") children.push(el("p", null, t("Your ID is verified. Nothing more to do.")));
      if (card.rejection) {
        children.push(
          alertBox(
            "error",
            t("We could not accept your card: %(reason)s", { reason: label("rejection", card.rejection.reason) }),
            el("div", null, card.rejection.message ? el("p", null, card.rejection.message) : null, card.rejection.remediation ? el("p", null, card.rejection.remediation) : null)
          )
        );
      }
      fill($("#card-status"), children);
      const canUpload = card.status === null || (card.status === "rejected" && card.can_resubmit);
      show(form, canUpload);
      $("#card-submit-label").textContent = card.status === "rejected" ? t("Send the new photo") : t("Send for verification");
    }
    bindForm(form, async function (values, key) {
      const file = input.files[0];
      const checked = await checkCard(file, maxBytes);
      if (checked.error) return { ok: false, error: { message: t("Please correct the fields marked below."), fields: { file: [checked.error] } } };
      const data = new FormData();
      data.append("file", file);
      const result = await api("POST", "/api/verification/residence-card", { form: data, key: key });
      if (result.ok) {
        form.reset();
        clear(preview);
        showNotice($("#page-notice"), t("Thank you. Your card is sent for verification."));
        await render();
      }
      return result;
    });
    await render();
  };

  /* --- Start -------------------------------------------------------------------------------- */

  $all("[data-action=sign-out]").forEach(function (button) {
    button.addEventListener("click", signOut);
  });
  const menu = $("#menu-button");
  if (menu) {
    menu.addEventListener("click", function () {
      const nav = $("#portal-nav-list");
      const open = menu.getAttribute("aria-expanded") !== "true";
      menu.setAttribute("aria-expanded", open ? "true" : "false");
      nav.classList.toggle("open", open);
    });
  }
  // Until a page has bound its forms, none may be sent the browser's way (a GET with the fields
  // in the address).
  document.addEventListener(
    "submit",
    function (event) {
      if (!event.target.hasAttribute("action")) event.preventDefault();
    },
    true
  );
  const name = body.getAttribute("data-page");
  const run = pages[name] || (body.getAttribute("data-signed-in") === "true" ? requireCustomer : optionalCustomer);
  Promise.resolve(run())
    .then(function () {
      body.setAttribute("data-ready", "true");
    })
    .catch(function (error) {
      if (error && error.message === "signed out") return;
      throw error;
    });
})();
