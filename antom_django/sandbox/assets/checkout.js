/* The sandbox's hosted checkout: collects a test card, runs the 3-D Secure step and reports the
   outcome, either by redirecting (stand-alone page) or to the SDK stand-in in the parent window. */
(function () {
  "use strict";

  var root = document.getElementById("antom-sandbox");
  var cfg = JSON.parse(root.getAttribute("data-config"));
  var form = document.getElementById("card-form");
  var payButton = document.getElementById("pay-button");
  var challenge = document.getElementById("challenge");
  var outcome = document.getElementById("outcome");
  var framed = cfg.embedded && window.parent !== window;
  var waitingForChallenge = null;

  if (cfg.embedded && !cfg.showSubmitButton) {
    document.body.classList.add("no-submit");
  }

  function post(message) {
    if (!framed) return;
    message.source = "antom-sandbox";
    message.sessionId = cfg.sessionId;
    window.parent.postMessage(message, cfg.parentOrigin || "*");
  }

  function call(action, body) {
    return fetch("/checkout/" + cfg.sessionId + "/" + action, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body || {}),
    }).then(function (response) {
      return response.json().then(function (data) {
        return { status: response.status, data: data };
      });
    });
  }

  function digits(value) {
    return String(value || "").replace(/[\s-]/g, "");
  }

  function luhn(number) {
    if (!/^\d{12,19}$/.test(number)) return false;
    var sum = 0;
    for (var i = 0; i < number.length; i++) {
      var d = Number(number[number.length - 1 - i]);
      if (i % 2) d = d > 4 ? d * 2 - 9 : d * 2;
      sum += d;
    }
    return sum % 10 === 0;
  }

  function check() {
    var errors = {};
    var number = digits(form.cardNumber.value);
    if (!luhn(number)) errors.cardNumber = "Enter a valid card number.";
    var expiry = /^(\d{2})\s*\/\s*(\d{2}|\d{4})$/.exec(form.expiry.value.trim());
    if (!expiry || Number(expiry[1]) < 1 || Number(expiry[1]) > 12) errors.expiry = "Enter the expiry date as MM/YY.";
    if (!/^\d{3,4}$/.test(form.cvv.value.trim())) errors.cvv = "Enter the 3 or 4 digit security code.";
    return errors;
  }

  function showErrors(errors) {
    var nodes = document.querySelectorAll("[data-error-for]");
    for (var i = 0; i < nodes.length; i++) {
      var name = nodes[i].getAttribute("data-error-for");
      var message = errors[name] || "";
      if (name === "billingAddress") {
        Object.keys(errors).forEach(function (key) {
          if (key.indexOf("billingAddress") === 0) message = errors[key];
        });
      }
      nodes[i].textContent = message;
      var input = form.elements[name];
      if (input && input.classList) input.classList.toggle("invalid", Boolean(message));
    }
    resized();
  }

  function resized() {
    post({ type: "size", height: document.documentElement.scrollHeight, width: document.documentElement.scrollWidth });
  }

  function lock(locked) {
    payButton.disabled = locked;
    for (var i = 0; i < form.elements.length; i++) form.elements[i].disabled = locked;
  }

  var MESSAGES = {
    SDK_PAYMENT_SUCCESSFUL: "Payment succeeded",
    SDK_PAYMENT_PROCESSING: "Payment is processing",
    SDK_PAYMENT_FAIL: "Payment failed",
    SDK_PAYMENT_ERROR: "Payment status is abnormal",
    SDK_FORM_VERIFICATION_FAILED: "Check the card details",
  };

  function finish(data) {
    form.hidden = true;
    challenge.hidden = true;
    outcome.hidden = false;
    outcome.className = data.status || "FAIL";
    document.getElementById("outcome-title").textContent = MESSAGES[data.code] || data.message || data.code;
    document.getElementById("outcome-detail").textContent =
      (data.paymentResultCode || "") + (data.paymentResultMessage ? ": " + data.paymentResultMessage : "");
    document.getElementById("session-status").textContent = data.status || "";
    var result = {
      paymentResultCode: data.paymentResultCode,
      paymentResultMessage: data.paymentResultMessage,
      paymentStatus: data.paymentStatus,
      paymentRequestId: data.paymentRequestId,
    };
    post({ type: "result", code: data.code, message: MESSAGES[data.code] || data.message, result: result, redirectUrl: data.redirectUrl });
    resized();
    if (!framed && data.redirectUrl) {
      setTimeout(function () { window.location.assign(data.redirectUrl); }, 1200);
    }
    return { code: data.code, message: MESSAGES[data.code] || data.message || "" };
  }

  function failed(reply) {
    var data = reply.data || {};
    if (data.code === "SDK_FORM_VERIFICATION_FAILED") {
      lock(false);
      showErrors(data.fields || {});
      post({ type: "event", code: data.code, message: data.message });
      return { code: data.code, message: data.message };
    }
    return finish({ status: "FAIL", code: data.code || "SDK_PAYMENT_ERROR", message: data.message,
                    paymentResultMessage: data.message, redirectUrl: cfg.redirectUrl });
  }

  function handle(reply) {
    if (reply.status >= 400) return failed(reply);
    if (reply.data.status === "CHALLENGE") {
      form.hidden = true;
      challenge.hidden = false;
      document.getElementById("session-status").textContent = "CHALLENGE";
      resized();
      return new Promise(function (resolve) { waitingForChallenge = resolve; });
    }
    return finish(reply.data);
  }

  function submit(billingAddress) {
    var errors = check();
    if (Object.keys(errors).length) {
      showErrors(errors);
      post({ type: "event", code: "SDK_FORM_VERIFICATION_FAILED", message: MESSAGES.SDK_FORM_VERIFICATION_FAILED });
      return Promise.resolve({ code: "SDK_FORM_VERIFICATION_FAILED", message: MESSAGES.SDK_FORM_VERIFICATION_FAILED });
    }
    showErrors({});
    lock(true);
    var body = { cardNumber: digits(form.cardNumber.value), expiry: form.expiry.value.trim(), cvv: form.cvv.value.trim() };
    if (billingAddress) body.billingAddress = billingAddress;
    return call("pay", body).then(handle, function () {
      return finish({ status: "FAIL", code: "SDK_PAYMENT_ERROR", message: "The sandbox could not be reached." });
    });
  }

  function answerChallenge(result) {
    call("challenge", { result: result }).then(function (reply) {
      var answer = reply.status >= 400 ? failed(reply) : finish(reply.data);
      if (waitingForChallenge) waitingForChallenge(answer);
      waitingForChallenge = null;
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    submit(null);
  });
  document.getElementById("challenge-pass").addEventListener("click", function () { answerChallenge("pass"); });
  document.getElementById("challenge-fail").addEventListener("click", function () { answerChallenge("fail"); });
  document.getElementById("expire-button").addEventListener("click", function () {
    call("expire").then(function (reply) {
      var data = reply.data || {};
      finish({ status: "FAIL", code: "SDK_PAYMENT_FAIL", paymentStatus: data.paymentStatus,
               paymentResultCode: data.paymentResultCode, paymentResultMessage: data.paymentResultMessage,
               paymentRequestId: data.paymentRequestId, redirectUrl: data.redirectUrl });
    });
  });
  var samples = document.querySelectorAll("[data-card]");
  for (var i = 0; i < samples.length; i++) {
    samples[i].addEventListener("click", function (event) {
      form.cardNumber.value = event.target.getAttribute("data-card");
      if (!form.expiry.value) form.expiry.value = "12/34";
      if (!form.cvv.value) form.cvv.value = "123";
    });
  }

  window.addEventListener("message", function (event) {
    var data = event.data;
    if (event.source !== window.parent || !data || data.target !== "antom-sandbox") return;
    if (cfg.parentOrigin && cfg.parentOrigin !== "*" && event.origin !== cfg.parentOrigin) return;
    if (data.type === "submit") {
      submit(data.billingAddress || null).then(function (answer) {
        post({ type: "reply", id: data.id, payload: answer });
      });
    } else if (data.type === "validate") {
      var errors = check();
      showErrors(errors);
      post({ type: "reply", id: data.id, payload: { isValid: Object.keys(errors).length === 0 } });
    }
  });

  if (cfg.status === "CHALLENGE") {
    form.hidden = true;
    challenge.hidden = false;
  } else if (cfg.status !== "OPEN") {
    form.hidden = true;
    outcome.hidden = false;
    outcome.className = cfg.paymentStatus;
    document.getElementById("outcome-title").textContent = "This payment session is " + cfg.status.toLowerCase();
  }
  if (window.ResizeObserver) new ResizeObserver(resized).observe(document.body);
  post({ type: "ready", status: cfg.status });
  if (cfg.status !== "OPEN" && cfg.status !== "CHALLENGE") {
    post({ type: "event", code: "SDK_PAYMENT_ERROR", message: "This payment session is " + cfg.status.toLowerCase() + "; create a new one." });
  }
  resized();
})();
