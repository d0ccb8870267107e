/* antom_django sandbox: a stand-in for Antom's web SDK (@alipay/ams-checkout) that talks to the
   local simulator. Same surface: window.AMSCashierPayment with preload, createComponent (popup),
   mountComponent (embedded), submit, validateFields, unmount and onEventCallback event codes.
   The simulator's origin comes from options.sandboxOrigin, window.AMS_SANDBOX_ORIGIN, the
   paymentSessionData, or the URL this script was loaded from, in that order. */
(function (global) {
  "use strict";

  var scriptSrc = global.document && global.document.currentScript ? global.document.currentScript.src : "";
  var MESSAGES = {
    SDK_START_OF_LOADING: "The component started loading.",
    SDK_END_OF_LOADING: "The component finished loading.",
    SDK_PAYMENT_SUCCESSFUL: "Payment succeeded.",
    SDK_PAYMENT_PROCESSING: "Payment is processing.",
    SDK_PAYMENT_FAIL: "Payment failed.",
    SDK_PAYMENT_CANCEL: "The buyer closed the payment.",
    SDK_PAYMENT_ERROR: "Payment status is abnormal.",
    SDK_FORM_VERIFICATION_FAILED: "The form did not pass verification.",
    SDK_CREATEPAYMENT_PARAMETER_ERROR: "sessionData is missing or malformed.",
    SDK_INIT_PARAMETER_ERROR: "The SDK options are invalid.",
    SDK_CREATECOMPONENT_ERROR: "The component could not be created.",
    SDK_SUBMIT_ERROR: "Nothing to submit: mount a component first.",
    SDK_INIT_TIMEOUT: "The component did not load in time.",
    SDK_REDIRECT: "Redirecting to the merchant's result page.",
  };
  var RESULT_CODES = ["SDK_PAYMENT_SUCCESSFUL", "SDK_PAYMENT_PROCESSING", "SDK_PAYMENT_FAIL"];
  var LOAD_TIMEOUT_MS = 15000;

  function parseSession(sessionData) {
    if (typeof sessionData !== "string" || sessionData.indexOf("&&") < 0) return null;
    try {
      var info = JSON.parse(global.atob(sessionData.split("&&")[0]));
      return info && info.sessionId ? info : null;
    } catch (e) {
      return null;
    }
  }

  function originOf(url) {
    try {
      return new URL(url).origin;
    } catch (e) {
      return "";
    }
  }

  function AMSCashierPayment(options) {
    if (!(this instanceof AMSCashierPayment)) return new AMSCashierPayment(options);
    this.options = options || {};
    this._frame = null;
    this._overlay = null;
    this._listener = null;
    this._pending = {};
    this._seq = 0;
    this._origin = "";
    this._params = null;
    var env = this.options.environment;
    if (env !== undefined && env !== "sandbox" && env !== "prod") {
      this._emit("SDK_INIT_PARAMETER_ERROR", "environment must be 'sandbox' or 'prod'.");
    }
  }

  AMSCashierPayment.preload = function (options) {
    var origin = (options && options.sandboxOrigin) || global.AMS_SANDBOX_ORIGIN || originOf(scriptSrc);
    if (origin && global.document && global.document.head) {
      var link = global.document.createElement("link");
      link.rel = "preload";
      link.as = "style";
      link.href = origin + "/sdk/checkout.css";
      global.document.head.appendChild(link);
    }
    return Promise.resolve();
  };

  AMSCashierPayment.prototype._emit = function (code, message, result) {
    var event = { code: code, message: message || MESSAGES[code] || code };
    if (result) event.result = result;
    this._log(code, event.message);
    if (typeof this.options.onEventCallback === "function") {
      try {
        this.options.onEventCallback(event);
      } catch (e) {
        this._log("SDK_INTERNAL_ERROR", String(e));
      }
    }
  };

  AMSCashierPayment.prototype._log = function (code, message) {
    if (typeof this.options.onLog === "function") {
      try {
        this.options.onLog({ code: code, message: message });
      } catch (e) {
        /* a merchant's logger must not break the payment */
      }
    }
  };

  AMSCashierPayment.prototype.createComponent = function (params) {
    return this._render(params, null, "popup");
  };

  AMSCashierPayment.prototype.mountComponent = function (params, selector) {
    return this._render(params, selector, "embedded");
  };

  AMSCashierPayment.prototype._render = function (params, selector, mode) {
    var self = this;
    var doc = global.document;
    self._emit("SDK_START_OF_LOADING");
    var info = params && parseSession(params.sessionData);
    if (!info) {
      self._emit("SDK_CREATEPAYMENT_PARAMETER_ERROR");
      return Promise.resolve();
    }
    if (self._frame) self.unmount();
    var container;
    if (mode === "embedded") {
      container = typeof selector === "string" ? doc.querySelector(selector) : selector;
      if (!container) {
        self._emit("SDK_CREATECOMPONENT_ERROR", "No element matches " + selector + ".");
        return Promise.resolve();
      }
    } else {
      container = self._popup(doc);
    }
    self._params = params;
    self._origin = self.options.sandboxOrigin || global.AMS_SANDBOX_ORIGIN || info.origin || originOf(scriptSrc);
    var showSubmit = mode === "popup" || Boolean(params.appearance && params.appearance.showSubmitButton);
    var query = [
      "embed=1",
      "mode=" + mode,
      "submit=" + (showSubmit ? "1" : "0"),
      "parent=" + encodeURIComponent(global.location.origin),
      "locale=" + encodeURIComponent(self.options.locale || "en_US"),
    ].join("&");
    var frame = doc.createElement("iframe");
    frame.src = self._origin + "/checkout/" + encodeURIComponent(info.sessionId) + "?" + query;
    frame.title = "Antom sandbox checkout";
    frame.setAttribute("data-antom-sandbox", mode);
    frame.style.cssText = "width:100%;border:0;display:block;min-height:320px;background:transparent;";
    self._frame = frame;

    return new Promise(function (resolve) {
      var settled = false;
      var timer = global.setTimeout(function () {
        if (!settled) {
          settled = true;
          self._emit("SDK_INIT_TIMEOUT");
          resolve();
        }
      }, LOAD_TIMEOUT_MS);
      self._listener = function (event) {
        var data = event.data;
        if (event.origin !== self._origin || !data || data.source !== "antom-sandbox") return;
        if (event.source !== frame.contentWindow) return;
        if (data.type === "ready") {
          if (!settled) {
            settled = true;
            global.clearTimeout(timer);
            self._emit("SDK_END_OF_LOADING");
            resolve();
          }
        } else if (data.type === "size") {
          frame.style.height = data.height + "px";
          if (typeof self.options.onSizeChanged === "function") self.options.onSizeChanged({ width: data.width, height: data.height });
        } else if (data.type === "event") {
          self._emit(data.code, data.message);
        } else if (data.type === "result") {
          self._result(data);
        } else if (data.type === "reply" && self._pending[data.id]) {
          self._pending[data.id](data.payload);
          delete self._pending[data.id];
        }
      };
      global.addEventListener("message", self._listener);
      container.appendChild(frame);
    });
  };

  AMSCashierPayment.prototype._popup = function (doc) {
    var self = this;
    var overlay = doc.createElement("div");
    overlay.setAttribute("data-antom-sandbox-popup", "");
    overlay.style.cssText =
      "position:fixed;inset:0;z-index:2147483000;background:rgba(0,0,0,.45);display:flex;align-items:center;justify-content:center;";
    var box = doc.createElement("div");
    box.style.cssText = "position:relative;width:min(480px,94vw);max-height:92vh;overflow:auto;background:#fff;border-radius:10px;";
    var close = doc.createElement("button");
    close.type = "button";
    close.setAttribute("aria-label", "Close");
    close.setAttribute("data-antom-sandbox-close", "");
    close.textContent = "\u00d7";
    close.style.cssText = "position:absolute;top:6px;right:8px;z-index:1;border:0;background:none;font-size:24px;cursor:pointer;";
    close.addEventListener("click", function () {
      self._emit("SDK_PAYMENT_CANCEL");
      if (typeof self.options.onClose === "function") self.options.onClose();
      self.unmount();
    });
    box.appendChild(close);
    overlay.appendChild(box);
    doc.body.appendChild(overlay);
    self._overlay = overlay;
    return box;
  };

  AMSCashierPayment.prototype._result = function (data) {
    var result = data.result || {};
    this._emit(data.code, data.message, result);
    var redirect = this._params && !this._params.notRedirectAfterComplete;
    if (redirect && data.redirectUrl && RESULT_CODES.indexOf(data.code) >= 0) {
      this._emit("SDK_REDIRECT");
      global.location.assign(data.redirectUrl);
    }
  };

  AMSCashierPayment.prototype._request = function (type, extra) {
    var self = this;
    if (!self._frame || !self._frame.contentWindow) return null;
    var id = ++self._seq;
    var message = { target: "antom-sandbox", type: type, id: id };
    Object.keys(extra || {}).forEach(function (key) {
      message[key] = extra[key];
    });
    return new Promise(function (resolve) {
      self._pending[id] = resolve;
      self._frame.contentWindow.postMessage(message, self._origin);
    });
  };

  AMSCashierPayment.prototype.submit = function (data) {
    var billing = data && data.billingAddress;
    if (billing !== undefined && (billing === null || typeof billing !== "object" || !/^[A-Za-z]{2}$/.test(billing.region || ""))) {
      this._emit("SDK_FORM_VERIFICATION_FAILED", "billingAddress.region must be an ISO 3166 two-letter code.");
      return Promise.resolve({ code: "SDK_FORM_VERIFICATION_FAILED", message: "billingAddress.region must be an ISO 3166 two-letter code." });
    }
    var pending = this._request("submit", { billingAddress: billing || null });
    if (!pending) {
      this._emit("SDK_SUBMIT_ERROR");
      return Promise.resolve({ code: "SDK_SUBMIT_ERROR", message: MESSAGES.SDK_SUBMIT_ERROR });
    }
    return pending;
  };

  AMSCashierPayment.prototype.validateFields = function () {
    return this._request("validate") || Promise.resolve({ isValid: false });
  };

  AMSCashierPayment.prototype.unmount = function () {
    var self = this;
    if (self._listener) global.removeEventListener("message", self._listener);
    self._listener = null;
    if (self._frame && self._frame.parentNode) self._frame.parentNode.removeChild(self._frame);
    if (self._overlay && self._overlay.parentNode) self._overlay.parentNode.removeChild(self._overlay);
    Object.keys(self._pending).forEach(function (id) {
      self._pending[id]({ code: "SDK_PAYMENT_CANCEL", message: MESSAGES.SDK_PAYMENT_CANCEL });
    });
    self._pending = {};
    self._frame = null;
    self._overlay = null;
  };

  global.AMSCashierPayment = AMSCashierPayment;
  global.AMSCheckout = AMSCashierPayment;
  if (typeof module === "object" && module && module.exports) {
    module.exports = { AMSCashierPayment: AMSCashierPayment };
  }
})(typeof window !== "undefined" ? window : this);
