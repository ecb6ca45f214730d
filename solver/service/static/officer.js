// The officer's page: plain JavaScript over the /api endpoints (no build step).
"use strict";

const T = JSON.parse(document.getElementById("texts").textContent);
const $ = (id) => document.getElementById(id);
const state = { plan: null, chosen: null, counter: null, proposal: null, base: null };
const NUMERIC = new Set(["principal", "interest_due", "fees_due", "arrears", "annual_rate",
  "remaining_term", "dpd", "credit_score", "income", "income_normal", "recovery_months",
  "income_cv", "expenses", "other_debt", "vehicle_value"]);

function money(x) {
  return x === null || x === undefined ? "—"
    : x.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}
function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, key) => (key in values ? String(values[key]) : ""));
}
function runs(months) {  // [1, 2, 3, 7] -> "1–3, 7"
  const out = [];
  for (const m of months) {
    const last = out[out.length - 1];
    if (last && m === last[1] + 1) last[1] = m; else out.push([m, m]);
  }
  return out.map(([a, b]) => (a === b ? String(a) : `${a}–${b}`)).join(", ");
}
function signed(x) { return (x >= 0 ? "+" : "−") + money(Math.abs(x)); }

// A plan answer in the page's language: built from its figures (page_text.toml), with the
// service's English explanation as the tooltip.
function planSummary(plan) {
  const best = plan.options.filter((o) => o.feasible).sort((a, b) => b.npv - a.npv)[0];
  const pick = plan.options.find((o) => o.label === plan.recommended_label) || best;
  const values = { explanation: plan.explanation, sq: money(plan.status_quo.npv) };
  if (pick) Object.assign(values, { label: pick.label, npv: money(pick.npv), delta: signed(pick.npv_vs_status_quo) });
  if (plan.status === "CONTRACT_AFFORDABLE") return fill(T.summary_affordable, values);
  if (!pick) return fill(T.summary_infeasible, values);
  return fill(plan.recommended_label ? T.summary_recommended : T.summary_npv_failed, values);
}

function counterSummary(data) {
  const values = { explanation: data.explanation, npv: money(data.npv), sq: money(data.status_quo_npv), delta: signed(data.npv_vs_status_quo) };
  if (data.verdict === "ACCEPTABLE") return fill(T.counter_acceptable, values);
  if (data.verdict === "NPV_TEST_FAILED") return fill(T.counter_npv_failed, values);
  if (data.verdict === "CONTRACT_AFFORDABLE") return fill(T.counter_affordable, values);
  values.rules = (data.violations || []).map((v) => fill(T.rule_months, { rule: v.rule, months: runs(v.months) })).join("；");
  let text = fill(T.counter_breaks, values);
  if (data.nearest && T.counter_nearest) text += fill(T.counter_nearest, { label: data.nearest.label, npv: money(data.nearest.npv) });
  return text;
}

function word(code) {  // a status or verdict in the page's language
  const w = T["status_" + code];
  return w === undefined ? String(code).toLowerCase() : w;
}

function pct(x, digits) { return x === null || x === undefined ? "—" : (x * 100).toFixed(digits) + "%"; }

function headers() {
  const h = { "Content-Type": "application/json" };
  const token = $("token") ? $("token").value || sessionStorage.getItem("workout-token") : null;
  if (token) { h.Authorization = "Bearer " + token; sessionStorage.setItem("workout-token", token); }
  return h;
}

function showErrors(problems) {
  const box = $("errors");
  if (!problems || !problems.length) { box.hidden = true; box.textContent = ""; return; }
  box.hidden = false;
  box.textContent = "";
  const head = document.createElement("strong");
  head.textContent = T.errors + ":";
  box.appendChild(head);
  const list = document.createElement("ul");
  for (const p of problems) {
    const item = document.createElement("li");
    item.textContent = (p.field ? p.field + ": " : "") + p.message;
    list.appendChild(item);
  }
  box.appendChild(list);
}

async function call(method, path, body) {
  $("busy").hidden = false;
  try {
    const response = await fetch(path, { method, headers: headers(), body: body ? JSON.stringify(body) : undefined });
    const type = response.headers.get("content-type") || "";
    const data = type.includes("json") ? await response.json() : await response.text();
    if (!response.ok) {
      const detail = data && data.detail;
      showErrors(Array.isArray(detail) ? detail : [{ field: "", message: String(detail || response.status) }]);
      return null;
    }
    showErrors(null);
    return data;
  } finally {
    $("busy").hidden = true;
  }
}

function readAccount() {
  const account = {};
  for (const el of $("account-form").elements) {
    if (!el.name) continue;
    if (el.type === "checkbox") { account[el.name] = el.checked; continue; }
    const value = el.value.trim();
    if (value === "") continue;
    account[el.name] = NUMERIC.has(el.name) ? Number(value) : value;
  }
  return account;
}

function fillAccount(account) {
  for (const el of $("account-form").elements) {
    if (!el.name || !(el.name in account)) continue;
    const value = account[el.name];
    if (el.type === "checkbox") el.checked = Boolean(value);
    else el.value = value === null || value === undefined ? "" : value;
  }
}

function resetWhatIf() {
  const a = readAccount();
  const income = Number(a.income || 0);
  $("wi-income").max = String(Math.max(50000, Math.ceil(income * 3 / 1000) * 1000));
  $("wi-income").value = String(income);
  $("wi-recovery").value = String(a.recovery_months || 0);
  $("wi-cv").value = String(a.income_cv === undefined ? 0.25 : a.income_cv);
  showWhatIf();
}

function showWhatIf() {
  $("wi-income-out").textContent = money(Number($("wi-income").value));
  $("wi-recovery-out").textContent = $("wi-recovery").value;
  $("wi-cv-out").textContent = Number($("wi-cv").value).toFixed(2);
}

function whatIf() {
  return {
    income: Number($("wi-income").value),
    recovery_months: Number($("wi-recovery").value),
    income_cv: Number($("wi-cv").value),
  };
}

function request(extra) {
  return Object.assign({ account: readAccount(), what_if: whatIf() }, extra || {});
}

function paymentsText(option) {
  const s = option.schedule || [];
  if (!s.length) return option.reason ? fill(T.no_plan, { reason: option.reason }) : "";
  const runs = [];
  for (const row of s) {
    const last = runs[runs.length - 1];
    if (last && last[0] === row.payment) last[1] += 1; else runs.push([row.payment, 1]);
  }
  return runs.slice(0, 4).map(([p, n]) => (n > 1 ? n + "× " : "") + money(p)).join(" → ") + (runs.length > 4 ? " …" : "");
}

function addRow(tbody, option, kind) {
  const tr = document.createElement("tr");
  tr.dataset.label = option.label;
  if (kind) tr.classList.add(kind);
  const choose = document.createElement("td");
  if (option.feasible && kind !== "reference") {
    const radio = document.createElement("input");
    radio.type = "radio"; radio.name = "choice"; radio.value = option.label;
    radio.addEventListener("change", () => choose(option.label));
    choose.appendChild(radio);
  }
  tr.appendChild(choose);
  if (option.reason) tr.title = option.reason;
  const label = option.label === "counter_offer" ? T.counter_option : option.label;
  const cells = [label, paymentsText(option), option.schedule && option.schedule.length ? String(option.schedule.length) : "",
    money(option.npv), kind === "reference" ? "" : (option.npv_vs_status_quo === null ? "" : (option.npv_vs_status_quo >= 0 ? "+" : "") + money(option.npv_vs_status_quo)),
    pct(option.pd_12m, 1), pct(option.apr, 2), option.max_dti === null ? "—" : option.max_dti.toFixed(2),
    kind === "recommended" ? T.recommended
      : option.label === "counter_offer" ? word(option.verdict)
      : option.feasible ? word(option.status) : T.infeasible];
  for (const text of cells) {
    const td = document.createElement("td");
    td.textContent = text;
    tr.appendChild(td);
  }
  tbody.appendChild(tr);
}

function options() {
  if (!state.plan) return [];
  const list = [state.plan.status_quo, ...state.plan.options];
  if (state.counter && state.counter.verdict !== "BREAKS_POLICY") list.push(state.counter.option);
  return list;
}

function renderPlan() {
  const plan = state.plan;
  const tbody = $("options-table").querySelector("tbody");
  tbody.textContent = "";
  addRow(tbody, plan.status_quo, "reference");
  for (const o of plan.options) {
    const kind = o.label === plan.recommended_label ? "recommended" : (!o.feasible ? "infeasible" : (o.family === "waterfall" ? "reference" : ""));
    addRow(tbody, o, kind);
  }
  if (state.counter && state.counter.verdict !== "BREAKS_POLICY") addRow(tbody, state.counter.option, "counter");
  const status = $("plan-status");
  status.textContent = "";
  const tag = document.createElement("span");
  tag.className = plan.status; tag.textContent = plan.status;
  status.append(tag, " " + planSummary(plan));
  status.title = plan.explanation;
  const keep = options().some((o) => o.label === state.chosen) ? state.chosen : plan.recommended_label;
  choose(keep || (plan.options.find((o) => o.feasible) || {}).label || null);
}

function choose(label) {
  state.chosen = label;
  for (const tr of $("options-table").querySelectorAll("tbody tr")) {
    const on = tr.dataset.label === label;
    tr.classList.toggle("chosen", on);
    const radio = tr.querySelector("input[type=radio]");
    if (radio) radio.checked = on;
  }
  const option = options().find((o) => o.label === label);
  drawChart(option);
}

function drawChart(option) {
  const svg = $("schedule-chart");
  svg.textContent = "";
  if (!option || !option.schedule) return;
  $("chart-title").textContent = option.label === "counter_offer" ? T.counter_option : option.label;
  const ns = "http://www.w3.org/2000/svg";
  const pay = option.schedule.map((r) => r.payment);
  const sq = state.plan.status_quo.schedule.map((r) => r.payment);
  const months = Math.max(pay.length, sq.length);
  const top = Math.max(...pay, ...sq.map((p) => Math.min(p, 3 * Math.max(...pay, 1))), 1) * 1.1;
  const W = 900, H = 260, L = 60, B = 24, R = 10, Tp = 10;
  const x = (i) => L + (i * (W - L - R)) / months;
  const y = (v) => H - B - (Math.min(v, top) * (H - B - Tp)) / top;
  const el = (name, attrs, text) => {
    const e = document.createElementNS(ns, name);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    svg.appendChild(e);
    return e;
  };
  for (let k = 0; k <= 4; k++) {
    const v = (top * k) / 4;
    el("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "axis" });
    el("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end" }, Math.round(v).toLocaleString("en-US"));
  }
  const width = Math.max(1, (W - L - R) / months - 1);
  pay.forEach((p, i) => el("rect", { x: x(i), y: y(p), width, height: Math.max(0, H - B - y(p)), class: p > 0 ? "bar" : "bar zero" }));
  const line = (values, cls) => el("polyline", { class: cls, points: values.map((v, i) => `${x(i) + width / 2},${y(v)}`).join(" ") });
  line(sq, "sq");
  for (let m = 0; m < months; m += Math.max(1, Math.ceil(months / 12))) el("text", { x: x(m), y: H - 6 }, String(m + 1));
}

async function plan() {
  const body = request();
  const data = await call("POST", "/api/plan", body);
  if (!data) return;
  state.plan = data;
  if (state.proposal) await evaluateCounter(false);
  renderPlan();
}

function readProposal() {
  const text = $("co-payments").value.trim();
  if (text) return { payments_text: text };
  const p = { holiday: Number($("co-holiday").value || 0), holiday_mode: $("co-mode").value };
  if ($("co-term").value) p.term = Number($("co-term").value);
  if ($("co-amount").value) p.amount = Number($("co-amount").value);
  return p;
}

async function evaluateCounter(render = true) {
  const proposal = state.proposal;
  const data = await call("POST", "/api/evaluate", request({ proposal }));
  const box = $("co-result");
  box.textContent = "";
  if (!data) { state.counter = null; return; }
  data.option = Object.assign({}, data, { label: "counter_offer", family: "counter_offer", feasible: data.verdict !== "BREAKS_POLICY" });
  state.counter = data;
  const tag = document.createElement("span");
  tag.className = data.verdict; tag.textContent = data.verdict;
  box.append(tag, " " + counterSummary(data));
  box.title = data.explanation;
  if (render && state.plan) {
    renderPlan();
    if (data.verdict !== "BREAKS_POLICY") choose("counter_offer");
    else if (data.nearest) choose(data.nearest.label);
  }
}

async function record() {
  const officer = $("officer-id").value.trim();
  if (!state.chosen || !officer) { $("decision-result").textContent = T.choose_first; return; }
  const body = request({ option: state.chosen, officer_id: officer, lang: $("letter-lang").value });
  if (state.chosen === "counter_offer") body.proposal = state.proposal;
  const receipt = await call("POST", "/api/decisions", body);
  if (!receipt) return;
  const box = $("decision-result");
  box.textContent = `${T.recorded} #${receipt.seq} · ${receipt.option} · sha256 ${String(receipt.letter_sha256).slice(0, 16)}…`;
  box.dataset.seq = receipt.seq;
  if (!receipt.letter_url) return;
  const html = await call("GET", receipt.letter_url);
  if (html === null) return;
  const frame = $("letter-frame");
  frame.srcdoc = html;
  frame.hidden = false;
  $("print-letter").hidden = false;
}

async function lookup() {
  const id = $("lookup-id").value.trim();
  if (!id) return;
  const data = await call("GET", "/api/accounts/" + encodeURIComponent(id));
  if (!data) return;
  fillAccount(data.account);
  resetWhatIf();
  state.counter = null; state.proposal = null; $("co-result").textContent = "";
  await plan();
}

let timer = null;
function debounced(fn) { clearTimeout(timer); timer = setTimeout(fn, 250); }

function init() {
  $("account-form").addEventListener("submit", (e) => { e.preventDefault(); resetWhatIf(); plan(); });
  for (const id of ["wi-income", "wi-recovery", "wi-cv"]) {
    $(id).addEventListener("input", () => { showWhatIf(); debounced(plan); });
  }
  $("wi-reset").addEventListener("click", () => { resetWhatIf(); plan(); });
  $("counter-form").addEventListener("submit", (e) => { e.preventDefault(); state.proposal = readProposal(); evaluateCounter(true); });
  $("record").addEventListener("click", record);
  $("print-letter").addEventListener("click", () => $("letter-frame").contentWindow.print());
  if ($("lookup")) {
    $("lookup").addEventListener("click", lookup);
    $("lookup-id").addEventListener("input", async () => {
      const prefix = $("lookup-id").value.trim();
      const data = await call("GET", "/api/accounts?limit=20&prefix=" + encodeURIComponent(prefix));
      const list = $("lookup-ids");
      list.textContent = "";
      for (const id of (data && data.account_ids) || []) { const o = document.createElement("option"); o.value = id; list.appendChild(o); }
    });
  }
  if ($("token")) $("token").value = sessionStorage.getItem("workout-token") || "";
  resetWhatIf();
  plan();
}

document.addEventListener("DOMContentLoaded", init);
