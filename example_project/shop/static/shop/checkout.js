/* The checkout: a payment session from the shop's server, then Antom's web SDK exactly as Antom's card
   payments guide shows it (preload, new AMSCashierPayment, createComponent / mountComponent, submit,
   unmount, onEventCallback). The same code runs against Antom's SDK and the sandbox simulator's stand-in:
   only the script URL in the page differs. The amount is never sent from here: the server reads it from
   the order. */
(function () {
  "use strict";

  var root = document.getElementById("checkout");
  if (!root || typeof window.AMSCashierPayment !== "function") {
    var line = document.getElementById("checkout-message");
    if (line) line.textContent = "The payment form could not be loaded. Check your connection and reload the page.";
    return;
  }
  var cfg = root.dataset;
  var payButton = document.getElementById("pay-button");
  var message = document.getElementById("checkout-message");
  var container = document.getElementById("card-container");
  var addressOption = document.getElementById("address-option");
  var collectAddress = document.getElementById("collect-address");
  var addressForm = document.getElementById("billing-address");
  var payLabel = "Pay " + cfg.total;

  var checkoutApp = null; // one AMSCashierPayment per payment session (the guide's rule)
  var session = null; // the last answer of POST sessions/
  var mounted = false; // an embedded component waiting for our own submit button
  var failedRequestId = null; // a payment the SDK reported failed: the server must know it before a retry
  var busy = false;

  // (Optional, recommended by the guide) load the SDK's resources before a session exists.
  window.AMSCashierPayment.preload();

  function say(text, tone) {
    message.textContent = text || "";
    message.className = tone || "";
  }

  function experience() {
    return root.querySelector("input[name=experience]:checked").value;
  }

  function collectingAddress() {
    return experience() === "embedded" && collectAddress.checked;
  }

  function ready(label) {
    busy = false;
    payButton.hidden = false;
    payButton.disabled = false;
    payButton.textContent = label || payLabel;
  }

  function wait(label) {
    busy = true;
    payButton.disabled = true;
    if (label) payButton.textContent = label;
  }

  function toResult() {
    window.location.assign(cfg.resultUrl);
  }

  // Free the SDK component: when leaving the page, switching experience, before a new session, after a result.
  function release() {
    if (checkoutApp) checkoutApp.unmount();
    checkoutApp = null;
    mounted = false;
  }

  function sleep(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  function getJSON(url, options) {
    return fetch(url, options).then(function (response) {
      return response.json().then(
        function (body) { return { ok: response.ok, status: response.status, body: body }; },
        function () { return { ok: response.ok, status: response.status, body: {} }; }
      );
    });
  }

  // The server's view of a payment (antom_django refreshes it from Antom at most every 2 s).
  function paymentStatus(paymentRequestId) {
    return getJSON(cfg.paymentUrl.replace("PAYMENT_REQUEST_ID", encodeURIComponent(paymentRequestId)), { credentials: "same-origin" })
      .then(function (answer) { return answer.ok ? answer.body : null; }, function () { return null; });
  }

  // Wait (a little) until the server has settled a payment the SDK reported, so a retry gets a new session.
  async function settled(paymentRequestId) {
    for (var i = 0; i < 15; i++) {
      var payment = await paymentStatus(paymentRequestId);
      if (payment && !payment.isPending) return payment;
      await sleep(2000);
    }
    return null;
  }

  async function openSession() {
    var answer;
    try {
      answer = await getJSON(cfg.sessionsUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": cfg.csrfToken },
        body: JSON.stringify({ referenceOrderId: cfg.order }),
      });
    } catch (e) {
      say("The shop could not be reached. Check your connection and try again.", "error");
      return null;
    }
    if (answer.ok) return answer.body;
    var code = answer.body.code;
    var detail = answer.body.detail || "The payment could not be started.";
    if (code === "order_already_paid") {
      say("This order is already paid. Taking you to its status…", "ok");
      toResult();
    } else if (code === "payment_in_progress") {
      say(detail + " Taking you to its status…");
      setTimeout(toResult, 1500);
    } else if (code === "antom_unavailable") {
      say("The payment service did not answer in time. Please try again in a moment.", "error");
    } else if (code === "session_failed") {
      say("The payment could not be started (" + detail + "). Please try again.", "error");
    } else {
      say(detail, "error");
    }
    return null;
  }

  function onLog(entry) {
    if (window.console) console.debug("[antom sdk]", entry.code, entry.message);
  }

  // Each event code as the guide's table says; the client result is for display only: the order's state
  // comes from the server (notifications and inquiries), which the result page shows.
  function onEventCallback(event) {
    var code = event.code;
    var result = event.result || {};
    switch (code) {
      case "SDK_START_OF_LOADING":
        say("Loading the secure card form…");
        break;
      case "SDK_END_OF_LOADING":
        say(experience() === "popup" ? "Enter your card details in the pop-up." : "Enter your card details below.");
        break;
      case "SDK_PAYMENT_SUCCESSFUL":
        // Redirect to the result page, which confirms the result with the server.
        say("Payment successful. Confirming with the shop…", "ok");
        release();
        toResult();
        break;
      case "SDK_PAYMENT_PROCESSING":
        // The result page keeps asking the server until the payment settles.
        say("Your payment is being processed…");
        release();
        toResult();
        break;
      case "SDK_PAYMENT_FAIL":
        // Tell the buyer why (result.paymentResultCode) and let them retry with a new session.
        failedRequestId = session && session.paymentRequestId;
        release();
        say("Payment failed" + (result.paymentResultCode ? " (" + result.paymentResultCode + ")" : "") +
            ". Check your card details or use another card, then try again.", "error");
        ready("Try again");
        break;
      case "SDK_PAYMENT_CANCEL":
        // The buyer closed the payment; the same session can be used again while it is valid.
        release();
        say("Payment cancelled. You can pay whenever you are ready.");
        ready();
        break;
      case "SDK_PAYMENT_ERROR":
        // Abnormal status: ask the server; retry only once it says the payment failed.
        release();
        say("The payment status is unclear. Checking with the shop…");
        confirmWithServer();
        break;
      case "SDK_FORM_VERIFICATION_FAILED":
        say("Some card details are missing or invalid. Check them and try again.", "error");
        if (mounted && collectingAddress()) ready(); // our own button submits again (else the component's)
        break;
      case "SDK_CREATEPAYMENT_PARAMETER_ERROR":
        release();
        say("The payment session could not be read. Please try again.", "error");
        ready("Try again");
        break;
      case "SDK_INIT_PARAMETER_ERROR":
        release();
        say("The payment form is not set up correctly. Please try again later.", "error");
        ready("Try again");
        break;
      case "SDK_CREATECOMPONENT_ERROR":
        release();
        say("The card form could not be shown. Please try again.", "error");
        ready("Try again");
        break;
      case "SDK_SUBMIT_ERROR":
        say("The payment could not be submitted. Please try again.", "error");
        ready("Try again");
        break;
      case "SDK_INIT_TIMEOUT":
      case "SDK_REQUEST_TIMEOUT":
        release();
        say("The card form took too long to respond. Check your connection and try again.", "error");
        ready("Try again");
        break;
      case "SDK_INTERNAL_ERROR":
        release();
        say("Something went wrong in the payment form. Please try again.", "error");
        ready("Try again");
        break;
      case "SDK_CALL_URL_SUCCESS":
        say("Continue in the window that opened…");
        break;
      case "SDK_CALL_URL_ERROR":
      case "SDK_LAUNCH_PAYMENT_APP_ERROR":
        say("The payment page could not be opened. Please try again.", "error");
        ready("Try again");
        break;
      case "SDK_REDIRECT":
      case "SDK_PAYMENT_CLICK_BACK_TO_MERCHANT":
        say("Taking you to your payment result…");
        break;
      default:
        if (event.message) say(event.message);
    }
  }

  async function confirmWithServer() {
    var id = session && session.paymentRequestId;
    var payment = id ? await settled(id) : null;
    if (payment && payment.status !== "FAILED" && payment.status !== "CANCELLED") {
      toResult();
    } else if (payment) {
      failedRequestId = null;
      say("The payment did not go through" + (payment.resultCode ? " (" + payment.resultCode + ")" : "") +
          ". Please try again.", "error");
      ready("Try again");
    } else {
      say("The payment is still being confirmed. Taking you to its status…");
      toResult();
    }
  }

  async function start() {
    wait("One moment…");
    release();
    say("Preparing a secure payment…");
    if (failedRequestId) {
      // A new session is only given once the server knows the last one failed (its notification, or an inquiry).
      await settled(failedRequestId);
      failedRequestId = null;
    }
    session = await openSession();
    if (!session) {
      ready("Try again");
      return;
    }
    checkoutApp = new window.AMSCashierPayment({
      environment: session.environment || cfg.environment, // must match where the session was created
      locale: session.locale || "en_US",
      onLog: onLog,
      onEventCallback: onEventCallback,
    });
    if (experience() === "popup") {
      payButton.textContent = "Paying in the pop-up…";
      await checkoutApp.createComponent({ sessionData: session.paymentSessionData, notRedirectAfterComplete: true });
      return;
    }
    var ownButton = collectingAddress(); // with our own button, submit() carries the billing address
    await checkoutApp.mountComponent(
      {
        sessionData: session.paymentSessionData,
        appearance: { showSubmitButton: !ownButton },
        notRedirectAfterComplete: true,
      },
      "#card-container"
    );
    if (!checkoutApp) return; // an error event released it
    mounted = true;
    if (ownButton) {
      ready();
    } else {
      busy = false;
      payButton.hidden = true; // the component's own button pays
    }
  }

  function billingAddress() {
    var data = {};
    ["region", "address1", "address2", "city", "state", "zipCode"].forEach(function (name) {
      data[name] = addressForm.querySelector("[name=" + name + "]").value.trim();
    });
    return data;
  }

  async function submitWithAddress() {
    var fields = addressForm.querySelectorAll("input, select");
    for (var i = 0; i < fields.length; i++) {
      if (!fields[i].checkValidity()) {
        fields[i].reportValidity();
        say("Complete the billing address first.", "error");
        return;
      }
    }
    wait("Paying…");
    say("Submitting your payment…");
    var answer = await checkoutApp.submit({ billingAddress: billingAddress() });
    if (answer && answer.code === "SDK_FORM_VERIFICATION_FAILED" && mounted) ready();
  }

  payButton.addEventListener("click", function () {
    if (busy) return; // a double click starts one payment
    if (mounted && collectingAddress() && checkoutApp) {
      submitWithAddress();
    } else {
      start();
    }
  });

  function reset() {
    release();
    container.textContent = "";
    addressOption.hidden = experience() !== "embedded";
    addressForm.hidden = !collectingAddress();
    say("");
    ready(experience() === "embedded" ? "Continue to card details" : payLabel);
  }

  // Switching experience (or whether we collect the address) frees the current component.
  root.querySelectorAll("input[name=experience]").forEach(function (input) {
    input.addEventListener("change", reset);
  });
  collectAddress.addEventListener("change", reset);
  window.addEventListener("pagehide", release);
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) window.location.reload(); // back from the result page: show the order as it is now
  });
  reset();
})();
