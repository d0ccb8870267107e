/* The result page: while the payment is pending, ask the shop's server every 2 seconds
   (GET /antom/payments/<paymentRequestId>/, which refreshes from Antom) and show the outcome. */
(function () {
  "use strict";

  var box = document.getElementById("result");
  if (!box || box.dataset.state !== "pending") return;
  var progress = document.getElementById("progress");
  var title = document.getElementById("result-title");
  var detail = document.getElementById("result-detail");
  var statusLine = document.getElementById("payment-status");
  var card = document.getElementById("payment-card");
  var retry = document.getElementById("retry");
  var INTERVAL_MS = 2000;
  var GIVE_UP_MS = 15 * 60 * 1000;
  var started = Date.now();

  var STATES = {
    AUTHORIZED: "authorized",
    PARTIALLY_CAPTURED: "paid",
    SUCCEEDED: "paid",
    REFUNDED: "paid",
    FAILED: "failed",
    CANCELLED: "cancelled",
  };
  var TEXT = {
    authorized: ["Thank you! Your card is authorized", "We hold the amount on your card and take it when your order ships."],
    paid: ["Thank you! Your payment is complete", "Your card was charged."],
    failed: ["Your payment did not go through", "No money was taken. You can try again."],
    cancelled: ["This payment was cancelled", "No money was taken."],
  };

  function show(payment) {
    statusLine.textContent = payment.status;
    if (payment.card && payment.card.brand) {
      card.textContent = payment.card.brand + (payment.card.last4 ? " •••• " + payment.card.last4 : "");
    }
    if (payment.isPending) return false;
    var state = STATES[payment.status] || "failed";
    box.dataset.state = state;
    progress.hidden = true;
    title.textContent = TEXT[state][0];
    detail.textContent = (state === "failed" && payment.resultCode ? "Reason: " + payment.resultCode + ". " : "") + TEXT[state][1];
    retry.hidden = state !== "failed";
    return true;
  }

  function poll() {
    fetch(box.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (payment) {
        if (payment && show(payment)) return;
        if (Date.now() - started > GIVE_UP_MS) {
          progress.hidden = true;
          detail.textContent = "This is taking longer than usual. We will update your order as soon as we hear; check it later.";
          return;
        }
        setTimeout(poll, INTERVAL_MS);
      }, function () { setTimeout(poll, INTERVAL_MS); });
  }

  poll();
})();
