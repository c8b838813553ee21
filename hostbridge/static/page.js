// The bridge's page (docs/ecr.md 9.2): one sale from a form to POST /sale, and its answer.
// No framework and nothing from another site: the bridge serves this file itself.
"use strict";

const SHOWN = ["result", "result_text", "message", "amount", "discount", "fee", "payable",
  "coupon", "coupon_discount", "coupon_text", "coupon_reason",
  "card", "rrn", "points_earned", "points_balance", "club_balance", "store_balance",
  "legs", "bank_reference"];
// a split sale's legs (docs/ecr.md 3.6), as the cashier reads them
const ACCOUNTS = { "60": "club credit", "70": "store credit", "40": "bank card", "00": "cash" };

function legsText(legs) {
  return legs.map((leg) =>
    `${ACCOUNTS[leg.account] || leg.account} ${leg.amount.toLocaleString("en")}`).join(" + ");
}

function newInvoice() {
  const now = new Date();
  const pad = (n) => String(n).padStart(2, "0");
  return "W" + now.getFullYear() % 100 + pad(now.getMonth() + 1) + pad(now.getDate()) +
    pad(now.getHours()) + pad(now.getMinutes()) + pad(now.getSeconds());
}

function say(text, kind) {
  const state = document.getElementById("state");
  state.textContent = text;
  state.className = kind;
}

function showAnswer(answer) {
  document.getElementById("answer").textContent = JSON.stringify(answer, null, 2);
  const table = document.getElementById("summary");
  const body = table.querySelector("tbody");
  body.replaceChildren();
  for (const key of SHOWN) {
    if (answer[key] === undefined) continue;
    const row = body.insertRow();
    row.insertCell().textContent = key;
    const value = key === "legs" ? legsText(answer.legs) : answer[key];
    row.insertCell().textContent = typeof value === "number" ? value.toLocaleString("en") : value;
  }
  table.hidden = body.rows.length === 0;
}

async function send(event) {
  event.preventDefault();
  const form = event.target;
  const button = document.getElementById("send");
  const sale = {
    amount: Number(form.amount.value),
    invoice: form.invoice.value,
    cashier: form.cashier.value,
    method: form.method.value,
  };
  if (form.coupon.value.trim()) sale.coupon = form.coupon.value.trim();  // docs/ecr.md 3.2
  if (form.split.value) sale.split = form.split.value;  // 3.6: the rest after the credit
  const headers = { "Content-Type": "application/json" };
  if (form.token.value) headers.Authorization = "Bearer " + form.token.value;
  button.disabled = true;
  say("Sent: the customer pays on the terminal...", "waiting");
  try {
    const reply = await fetch("/sale", { method: "POST", headers, body: JSON.stringify(sale) });
    const answer = await reply.json();
    showAnswer(answer);
    if (reply.status === 200) {
      const ok = answer.result === "00";
      say(`${answer.result_text} (${answer.result}): ${answer.message}`, ok ? "approved" : "refused");
      if (ok) form.invoice.value = newInvoice();  // the next sale needs a new invoice
    } else if (answer.sent) {  // 502: it went out and no answer came back
      say(`HTTP ${reply.status}: ${answer.error}. Do not charge again before POST /status ` +
        `for invoice ${sale.invoice} has answered.`, "error");
    } else {
      say(`HTTP ${reply.status}: ${answer.error}`, "error");
    }
  } catch (error) {
    say(`No answer from the bridge: ${error.message}`, "error");
  } finally {
    button.disabled = false;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("sale");
  form.invoice.value = newInvoice();
  form.addEventListener("submit", send);
});
