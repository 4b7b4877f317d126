/* infoloss explorer: every number on the page is computed here, in double precision.
 * The test-suite checks these functions against infoloss itself on a grid of inputs. */
"use strict";
(function () {
  // ------------------------------------------------------------------ mathematics

  /** Multiplier from nats to the chosen unit. */
  function unitScale(unit) {
    return unit === "bits" ? 1 / Math.LN2 : 1;
  }

  /** I(x) = −log P(x): 0 at P = 1, +∞ at P = 0. */
  function selfInformation(P, unit) {
    const s = unitScale(unit);
    return P.map((p) => (p === 0 ? Infinity : -Math.log(p) * s + 0));
  }

  /** H(P) = −Σ P log P with 0·log 0 = 0. */
  function entropy(P, unit) {
    let h = 0;
    for (const p of P) if (p > 0) h -= p * Math.log(p);
    return h * unitScale(unit) + 0;
  }

  /** H(P,Q) = −Σ P log Q; a term with P = 0 is 0, one with P > 0 and Q = 0 is +∞. */
  function crossEntropy(P, Q, unit) {
    let h = 0;
    for (let i = 0; i < P.length; i++) {
      if (P[i] === 0) continue;
      if (Q[i] === 0) return Infinity;
      h -= P[i] * Math.log(Q[i]);
    }
    return h * unitScale(unit) + 0;
  }

  /** D(P‖Q) = Σ P log(P/Q), summed directly (not as H(P,Q) − H(P)). */
  function klDivergence(P, Q, unit) {
    let d = 0;
    for (let i = 0; i < P.length; i++) {
      if (P[i] === 0) continue;
      if (Q[i] === 0) return Infinity;
      // log P − log Q rather than log(P/Q): the quotient of two tiny numbers can overflow.
      d += P[i] * (Math.log(P[i]) - Math.log(Q[i]));
    }
    return d * unitScale(unit) + 0;
  }

  /** JS = ½D(P‖M) + ½D(Q‖M), M = ½(P + Q): symmetric and at most log 2. */
  function jsDivergence(P, Q, unit) {
    const M = P.map((p, i) => 0.5 * p + 0.5 * Q[i]);
    return 0.5 * klDivergence(P, M, unit) + 0.5 * klDivergence(Q, M, unit);
  }

  /** A binary Huffman code for the outcomes with P > 0 (ties broken by outcome index).
   * Returns {codes, lengths}: codes[i] is a string of 0s and 1s, or null where P = 0
   * (no codeword: such an outcome cannot be sent); a single certain outcome needs 0 bits. */
  function huffman(P) {
    const n = P.length;
    const codes = new Array(n).fill(null);
    const lengths = new Array(n).fill(Infinity);
    let nodes = [];
    for (let i = 0; i < n; i++) {
      if (P[i] > 0) nodes.push({ w: P[i], order: i, leaves: [i] });
    }
    if (nodes.length === 0) return { codes, lengths };
    for (const node of nodes) codes[node.leaves[0]] = "";
    let order = n;
    while (nodes.length > 1) {
      nodes.sort((a, b) => a.w - b.w || a.order - b.order);
      const a = nodes.shift();
      const b = nodes.shift();
      for (const i of a.leaves) codes[i] = "0" + codes[i];
      for (const i of b.leaves) codes[i] = "1" + codes[i];
      nodes.push({ w: a.w + b.w, order: order++, leaves: a.leaves.concat(b.leaves) });
    }
    for (let i = 0; i < n; i++) if (codes[i] !== null) lengths[i] = codes[i].length;
    return { codes, lengths };
  }

  /** Expected length Σ P ℓ in bits; +∞ if some outcome with P > 0 has no codeword. */
  function expectedLength(P, lengths) {
    let total = 0;
    for (let i = 0; i < P.length; i++) {
      if (P[i] === 0) continue;
      if (!Number.isFinite(lengths[i])) return Infinity;
      total += P[i] * lengths[i];
    }
    return total;
  }

  function logSumExp(a) {
    let m = -Infinity;
    for (const v of a) if (v > m) m = v;
    let s = 0;
    for (const v of a) s += Math.exp(v - m);
    return m + Math.log(s);
  }

  /** The outcome grid of the Gaussian widget: 241 points from −6 to 6. */
  const GRID = Array.from({ length: 241 }, (_, i) => -6 + i * 0.05);

  /** log-probabilities of a Gaussian N(mu, sigma²) discretised on GRID. */
  function gaussianLogProbs(mu, sigma) {
    const l = GRID.map((x) => -0.5 * ((x - mu) / sigma) ** 2);
    const z = logSumExp(l);
    return l.map((v) => v - z);
  }

  /** log-probabilities of w·N(m1, s1²) + (1 − w)·N(m2, s2²) discretised on GRID. */
  function mixtureLogProbs(t) {
    const l = GRID.map((x) => {
      const a = Math.log(t.w) - Math.log(t.s1) - 0.5 * ((x - t.m1) / t.s1) ** 2;
      const b = Math.log(1 - t.w) - Math.log(t.s2) - 0.5 * ((x - t.m2) / t.s2) ** 2;
      return logSumExp([a, b]);
    });
    const z = logSumExp(l);
    return l.map((v) => v - z);
  }

  /** Σ exp(la) (la − lb): D(A‖B) from log-probabilities, for the optimiser. */
  function klFromLogs(la, lb) {
    let d = 0;
    for (let i = 0; i < la.length; i++) d += Math.exp(la[i]) * (la[i] - lb[i]);
    return d;
  }

  const SIGMA_MIN = 0.4;
  const SIGMA_MAX = 8;

  /** The single Gaussian closest to the target in one KL direction.
   * direction "forward" minimises D(P‖Q) (mode-covering), "reverse" D(Q‖P) (mode-seeking).
   * A coarse search over (mu, log sigma) finds the basin, a pattern search polishes it. */
  function fitGaussian(logP, direction) {
    const objective = (mu, logSigma) => {
      const logQ = gaussianLogProbs(mu, Math.exp(logSigma));
      return direction === "forward" ? klFromLogs(logP, logQ) : klFromLogs(logQ, logP);
    };
    const lo = Math.log(SIGMA_MIN);
    const hi = Math.log(SIGMA_MAX);
    let best = { mu: 0, ls: 0, f: Infinity };
    for (let mu = -6; mu <= 6.0001; mu += 0.25) {
      for (let k = 0; k <= 20; k++) {
        const ls = lo + ((hi - lo) * k) / 20;
        const f = objective(mu, ls);
        if (f < best.f) best = { mu, ls, f };
      }
    }
    let step = 0.125;
    while (step > 1e-7) {
      let moved = false;
      for (const [dm, dl] of [[step, 0], [-step, 0], [0, step], [0, -step]]) {
        const mu = Math.min(6, Math.max(-6, best.mu + dm));
        const ls = Math.min(hi, Math.max(lo, best.ls + dl));
        const f = objective(mu, ls);
        if (f < best.f) {
          best = { mu, ls, f };
          moved = true;
        }
      }
      if (!moved) step /= 2;
    }
    return { mu: best.mu, sigma: Math.exp(best.ls) };
  }

  /** The peaks of a discretised density: grid points above both neighbours (a flat top
   * counts once) and at least 1 % of the highest, as x positions. */
  function peaksOf(logP) {
    const p = logP.map(Math.exp);
    const top = Math.max(...p);
    const peaks = [];
    for (let i = 0; i < p.length; i++) {
      const left = i === 0 ? -Infinity : p[i - 1];
      let j = i;
      while (j + 1 < p.length && p[j + 1] === p[i]) j++;
      const right = j + 1 === p.length ? -Infinity : p[j + 1];
      if (p[i] > left && p[i] > right && p[i] >= 0.01 * top) peaks.push(GRID[(i + j) >> 1]);
      i = j;
    }
    return peaks;
  }

  /** What a fitted Gaussian does with the target's peaks: it covers a peak within 2σ of μ
   * (there its density is above e^−2 of its top). Returns {kind, covered}, kind one of
   * "single" (P has one peak), "both" (covers every peak), "one" (covers exactly one) and
   * "between" (covers none). */
  function describeFit(fit, peaks) {
    const covered = peaks.filter((x) => Math.abs(x - fit.mu) <= 2 * fit.sigma);
    let kind = "between";
    if (peaks.length === 1) kind = "single";
    else if (covered.length === peaks.length) kind = "both";
    else if (covered.length === 1) kind = "one";
    else if (covered.length > 1) kind = "some";
    return { kind, covered };
  }

  /** σ(z), without overflow for large |z|. */
  function sigmoid(z) {
    if (z >= 0) return 1 / (1 + Math.exp(-z));
    const e = Math.exp(z);
    return e / (1 + e);
  }

  /** Loss and ∂L/∂z of a sigmoid unit with label y, in nats. */
  function sigmoidUnit(z, y) {
    const yhat = sigmoid(z);
    // max(z, 0) − yz + log(1 + e^{−|z|}): cross-entropy from the logit, stable for any z.
    const ce = Math.max(z, 0) - y * z + Math.log1p(Math.exp(-Math.abs(z)));
    const se = 0.5 * (yhat - y) ** 2;
    const dce = yhat - y;
    const dse = (yhat - y) * yhat * (1 - yhat);
    return { yhat, ce, se, dce, dse, ratio: yhat * (1 - yhat) };
  }

  /** |z| beyond which σ'(z) = ŷ(1 − ŷ) < 1 %: there |∂SE/∂z| < 1 % of |∂CE/∂z|. */
  const ONE_PERCENT_Z = Math.log((1 + Math.sqrt(0.96)) / (1 - Math.sqrt(0.96)));

  const math = {
    unitScale, selfInformation, entropy, crossEntropy, klDivergence, jsDivergence,
    huffman, expectedLength, GRID, gaussianLogProbs, mixtureLogProbs, fitGaussian,
    peaksOf, describeFit, sigmoid, sigmoidUnit, ONE_PERCENT_Z, SIGMA_MIN, SIGMA_MAX,
  };

  // ------------------------------------------------------------------ formatting and DOM

  const MINUS = "\u2212";

  /** Six decimals, or six significant digits below 1: within 1e-6 of the true value. */
  function fmt(x) {
    if (Number.isNaN(x)) return "undefined";
    if (!Number.isFinite(x)) return x > 0 ? "+∞" : MINUS + "∞";
    let text;
    if (x === 0) text = "0";
    else if (Math.abs(x) >= 1) text = x.toFixed(6);
    else text = x.toPrecision(6);
    return text.replace("-", MINUS);
  }

  function show(id, x) {
    const node = document.getElementById(id);
    node.textContent = fmt(x);
    node.dataset.value = String(x);
  }

  const SVG = "http://www.w3.org/2000/svg";

  function svgEl(tag, attrs, parent) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (parent) parent.appendChild(node);
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function text(parent, x, y, content, attrs) {
    const t = svgEl("text", Object.assign({ x, y }, attrs || {}), parent);
    t.textContent = content;
    return t;
  }

  const COLOUR = { P: "#0072B2", Q: "#E69F00", D: "#D55E00", H: "#0072B2", green: "#009E73" };

  // ------------------------------------------------------------------ state

  const state = {
    unit: "bits",
    P: [0.5, 0.25, 0.125, 0.125],
    Q: [0.25, 0.25, 0.25, 0.25],
    target: { m1: -3, s1: 0.6, m2: 2.5, s2: 0.9, w: 0.55 },
    fits: null,
    logP: null,
    z: -2,
    y: 1,
    predicted: null,
    results: null,
  };

  function unitName() {
    return state.unit;
  }

  /** Set outcome i of a distribution to v and rescale the others so the total stays 1. */
  function setMass(dist, i, v) {
    v = Math.min(1, Math.max(0, Math.round(v * 1000) / 1000));
    const rest = dist.reduce((s, p, j) => (j === i ? s : s + p), 0);
    const n = dist.length;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      dist[j] = rest > 0 ? (dist[j] * (1 - v)) / rest : (1 - v) / (n - 1);
    }
    dist[i] = v;
  }

  function resize(dist, n) {
    const out = dist.slice(0, n);
    while (out.length < n) out.push(1 / n);
    const total = out.reduce((s, p) => s + p, 0);
    return total > 0 ? out.map((p) => p / total) : out.map(() => 1 / n);
  }

  // ------------------------------------------------------------------ widget 1: bars

  const BAR = { w: 340, h: 210, top: 18, bottom: 182, left: 30, right: 330 };

  function drawBars(svg, dist, name) {
    clear(svg);
    const n = dist.length;
    const colW = (BAR.right - BAR.left) / n;
    const y = (p) => BAR.bottom - p * (BAR.bottom - BAR.top);
    for (const tick of [0, 0.5, 1]) {
      svgEl("line", { x1: BAR.left, x2: BAR.right, y1: y(tick), y2: y(tick), class: "grid" }, svg);
      text(svg, BAR.left - 4, y(tick) + 4, String(tick), { class: "tick", "text-anchor": "end" });
    }
    for (let i = 0; i < n; i++) {
      const g = svgEl("g", { class: "col", "data-i": i }, svg);
      const x0 = BAR.left + i * colW;
      svgEl("rect", { x: x0, y: BAR.top, width: colW, height: BAR.bottom - BAR.top, class: "hit" }, g);
      svgEl("rect", {
        x: x0 + colW * 0.15, y: y(dist[i]), width: colW * 0.7,
        height: Math.max(0, BAR.bottom - y(dist[i])), fill: COLOUR[name], class: "bar",
      }, g);
      text(g, x0 + colW / 2, Math.min(y(dist[i]) - 4, BAR.bottom - 4), dist[i].toFixed(3), {
        class: "val", "text-anchor": "middle",
      });
      text(g, x0 + colW / 2, BAR.bottom + 16, "x" + (i + 1), { class: "tick", "text-anchor": "middle" });
    }
  }

  function attachDrag(svg, name) {
    let column = null;
    const locate = (ev) => {
      const r = svg.getBoundingClientRect();
      const x = ((ev.clientX - r.left) * BAR.w) / r.width;
      const yy = ((ev.clientY - r.top) * BAR.h) / r.height;
      return { x, v: (BAR.bottom - yy) / (BAR.bottom - BAR.top) };
    };
    svg.addEventListener("pointerdown", (ev) => {
      const { x, v } = locate(ev);
      const n = state[name].length;
      const i = Math.floor(((x - BAR.left) * n) / (BAR.right - BAR.left));
      if (i < 0 || i >= n) return;
      column = i;
      svg.setPointerCapture(ev.pointerId);
      setMass(state[name], column, v);
      renderDistributions();
      ev.preventDefault();
    });
    svg.addEventListener("pointermove", (ev) => {
      if (column === null) return;
      setMass(state[name], column, locate(ev).v);
      renderDistributions();
    });
    const stop = () => { column = null; };
    svg.addEventListener("pointerup", stop);
    svg.addEventListener("pointercancel", stop);
    svg.addEventListener("keydown", (ev) => {
      const focus = Number(svg.dataset.focus || 0);
      const dist = state[name];
      if (ev.key === "ArrowUp" || ev.key === "ArrowDown") {
        setMass(dist, focus, dist[focus] + (ev.key === "ArrowUp" ? 0.01 : -0.01));
      } else if (ev.key === "ArrowLeft" || ev.key === "ArrowRight") {
        const step = ev.key === "ArrowRight" ? 1 : dist.length - 1;
        svg.dataset.focus = String((focus + step) % dist.length);
      } else {
        return;
      }
      ev.preventDefault();
      renderDistributions();
    });
  }

  function drawIdentity(H, HPQ, D) {
    const svg = document.getElementById("identity");
    clear(svg);
    const W = 640, left = 120, right = 600;
    const finite = Number.isFinite(HPQ);
    // With D(P‖Q) = +∞ the H(P) part keeps a readable share and D runs off the end.
    const max = Math.max(finite ? HPQ : 2 * H, 1e-9);
    const x = (v) => left + Math.min((v / max) * (right - left), right - left);
    const u = unitName();
    text(svg, left - 8, 27, "H(P,Q)", { class: "lbl", "text-anchor": "end" });
    if (finite) {
      svgEl("rect", { x: left, y: 14, width: Math.max(0, x(HPQ) - left), height: 20, fill: "#666" }, svg);
    } else {
      svgEl("rect", { x: left, y: 14, width: right - left, height: 20, fill: "#666", class: "inf" }, svg);
      text(svg, right + 6, 29, "+∞", { class: "lbl" });
    }
    text(svg, left - 8, 63, "H(P) + D(P‖Q)", { class: "lbl", "text-anchor": "end" });
    svgEl("rect", { x: left, y: 50, width: Math.max(0, x(H) - left), height: 20, fill: COLOUR.H }, svg);
    const dEnd = finite ? x(H + D) : right;
    svgEl("rect", { x: x(H), y: 50, width: Math.max(0, dEnd - x(H)), height: 20, fill: COLOUR.D }, svg);
    text(svg, left, 90, `H(P) = ${fmt(H)} ${u}`, { class: "lbl", fill: COLOUR.H });
    text(svg, Math.min(x(H) + 4, 440), 108, `D(P‖Q) = ${fmt(D)} ${u}`, { class: "lbl", fill: COLOUR.D });
    svg.setAttribute("viewBox", `0 0 ${W} 116`);
  }

  function renderDistributions() {
    const { P, Q } = state;
    const u = unitName();
    drawBars(document.getElementById("bars-P"), P, "P");
    drawBars(document.getElementById("bars-Q"), Q, "Q");
    const IP = selfInformation(P, u);
    const IQ = selfInformation(Q, u);
    const H = entropy(P, u);
    const HQ = entropy(Q, u);
    const HPQ = crossEntropy(P, Q, u);
    const DPQ = klDivergence(P, Q, u);
    const DQP = klDivergence(Q, P, u);
    const JS = jsDivergence(P, Q, u);
    show("v-H", H);
    show("v-HQ", HQ);
    show("v-HPQ", HPQ);
    show("v-DPQ", DPQ);
    show("v-DQP", DQP);
    show("v-JS", JS);
    show("v-HplusD", H + DPQ);
    for (const node of document.querySelectorAll(".unit")) node.textContent = u;
    const body = document.getElementById("outcomes");
    clear(body);
    for (let i = 0; i < P.length; i++) {
      const row = body.insertRow();
      row.insertCell().textContent = "x" + (i + 1);
      for (const [id, v] of [["P", P[i]], ["Q", Q[i]], ["IP", IP[i]], ["IQ", IQ[i]]]) {
        const cell = row.insertCell();
        cell.className = "n";
        cell.id = `v-${id}-${i}`;
        cell.textContent = fmt(v);
        cell.dataset.value = String(v);
      }
    }
    drawIdentity(H, HPQ, DPQ);
    renderCodes();
  }

  // ------------------------------------------------------------------ widget 2: code lengths

  function renderCodes() {
    const { P, Q } = state;
    const hp = huffman(P);
    const hq = huffman(Q);
    const ideal = selfInformation(P, "bits");
    const idealQ = selfInformation(Q, "bits");
    const body = document.getElementById("codes");
    clear(body);
    for (let i = 0; i < P.length; i++) {
      const row = body.insertRow();
      row.insertCell().textContent = "x" + (i + 1);
      const cells = [
        ["cIP", ideal[i], fmt], ["cP", hp.codes[i]], ["cLP", hp.lengths[i], lengthText],
        ["cIQ", idealQ[i], fmt], ["cQ", hq.codes[i]], ["cLQ", hq.lengths[i], lengthText],
      ];
      for (const [id, v, format] of cells) {
        const cell = row.insertCell();
        cell.id = `v-${id}-${i}`;
        if (typeof v === "number") {
          cell.className = "n";
          cell.textContent = format(v);
          cell.dataset.value = String(v);
        } else {
          cell.className = "code";
          cell.textContent = v === null ? "none" : v === "" ? "(empty)" : v;
        }
      }
    }
    const H = entropy(P, "bits");
    const LP = expectedLength(P, hp.lengths);
    const LQ = expectedLength(P, hq.lengths);
    show("v-cH", H);
    show("v-cLP", LP);
    show("v-cHPQ", crossEntropy(P, Q, "bits"));
    show("v-cLQ", LQ);
    show("v-cExcess", LQ - LP);
    drawCodeBars(ideal, hp.lengths, hq.lengths);
  }

  function lengthText(v) {
    return Number.isFinite(v) ? String(v) : "—";
  }

  function drawCodeBars(ideal, lp, lq) {
    const svg = document.getElementById("code-bars");
    clear(svg);
    const n = ideal.length;
    const W = 640, H = 206, left = 34, right = 630, top = 14, bottom = 160;
    const finiteMax = Math.max(1, ...[...ideal, ...lp, ...lq].filter(Number.isFinite));
    const cap = Math.ceil(finiteMax) + 1;
    const y = (v) => bottom - (Math.min(v, cap) / cap) * (bottom - top);
    for (let t = 0; t <= cap; t += Math.max(1, Math.ceil(cap / 5))) {
      svgEl("line", { x1: left, x2: right, y1: y(t), y2: y(t), class: "grid" }, svg);
      text(svg, left - 4, y(t) + 4, String(t), { class: "tick", "text-anchor": "end" });
    }
    const colW = (right - left) / n;
    const series = [[ideal, "#999", "−log₂ P"], [lp, COLOUR.P, "Huffman for P"], [lq, COLOUR.Q, "Huffman for Q"]];
    for (let i = 0; i < n; i++) {
      series.forEach(([vals, colour], k) => {
        const v = vals[i];
        const x0 = left + i * colW + colW * (0.12 + 0.25 * k);
        svgEl("rect", { x: x0, y: y(v), width: colW * 0.23, height: bottom - y(v), fill: colour,
          class: Number.isFinite(v) ? "" : "inf" }, svg);
        if (!Number.isFinite(v)) text(svg, x0 + colW * 0.115, top - 1, "∞", { class: "tick", "text-anchor": "middle" });
      });
      text(svg, left + (i + 0.5) * colW, bottom + 16, "x" + (i + 1), { class: "tick", "text-anchor": "middle" });
    }
    series.forEach(([, colour, label], k) => {
      svgEl("rect", { x: left + 10 + k * 160, y: H - 12, width: 12, height: 10, fill: colour }, svg);
      text(svg, left + 26 + k * 160, H - 3, label + " (bits)", { class: "tick" });
    });
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  }

  // ------------------------------------------------------------------ widget 3: forward vs reverse KL

  function refit() {
    state.logP = mixtureLogProbs(state.target);
    state.fits = {
      forward: fitGaussian(state.logP, "forward"),
      reverse: fitGaussian(state.logP, "reverse"),
    };
  }

  /** The discretised target and the two fitted Gaussians, as probabilities. */
  function fitArrays() {
    const P = state.logP.map(Math.exp);
    const fwd = gaussianLogProbs(state.fits.forward.mu, state.fits.forward.sigma).map(Math.exp);
    const rev = gaussianLogProbs(state.fits.reverse.mu, state.fits.reverse.sigma).map(Math.exp);
    return { P, forward: fwd, reverse: rev };
  }

  function renderFit() {
    const u = unitName();
    const a = fitArrays();
    const f = state.fits;
    show("v-fwd-mu", f.forward.mu);
    show("v-fwd-sigma", f.forward.sigma);
    show("v-fwd-DPQ", klDivergence(a.P, a.forward, u));
    show("v-fwd-DQP", klDivergence(a.forward, a.P, u));
    show("v-rev-mu", f.reverse.mu);
    show("v-rev-sigma", f.reverse.sigma);
    show("v-rev-DPQ", klDivergence(a.P, a.reverse, u));
    show("v-rev-DQP", klDivergence(a.reverse, a.P, u));
    for (const [k, v] of Object.entries(state.target)) {
      const out = document.getElementById(`t-${k}-out`);
      if (out) out.textContent = v.toFixed(2);
    }
    const svg = document.getElementById("fit-plot");
    clear(svg);
    const W = 640, H = 262, left = 20, right = 630, top = 60, bottom = 232;
    const max = Math.max(...a.P, ...a.forward, ...a.reverse);
    const x = (v) => left + ((v + 6) / 12) * (right - left);
    const y = (p) => bottom - (p / max) * (bottom - top);
    const path = (vals) => vals.map((p, i) => `${i ? "L" : "M"}${x(GRID[i]).toFixed(1)},${y(p).toFixed(1)}`).join("");
    svgEl("path", { d: path(a.P) + `L${x(6)},${bottom}L${x(-6)},${bottom}Z`, fill: "#cfd8dc", stroke: "#555" }, svg);
    svgEl("path", { d: path(a.forward), fill: "none", stroke: COLOUR.P, "stroke-width": 2.5 }, svg);
    svgEl("path", { d: path(a.reverse), fill: "none", stroke: COLOUR.D, "stroke-width": 2.5, "stroke-dasharray": "7 4" }, svg);
    svgEl("line", { x1: left, x2: right, y1: bottom, y2: bottom, stroke: "#333" }, svg);
    for (let t = -6; t <= 6; t += 2) text(svg, x(t), bottom + 16, String(t).replace("-", MINUS), { class: "tick", "text-anchor": "middle" });
    const peaks = peaksOf(state.logP);
    const shape = { forward: fitShape(f.forward, peaks), reverse: fitShape(f.reverse, peaks) };
    document.getElementById("v-fwd-shape").textContent = shape.forward;
    document.getElementById("v-rev-shape").textContent = shape.reverse;
    const legend = [
      ["#cfd8dc", "target P (you shape it)", "fit-legend-P"],
      [COLOUR.P, `argmin D(P‖Q): ${shape.forward}`, "fit-legend-forward"],
      [COLOUR.D, `argmin D(Q‖P): ${shape.reverse}`, "fit-legend-reverse"],
    ];
    legend.forEach(([c, label, id], k) => {
      svgEl("rect", { x: left + 6, y: 4 + k * 17, width: 12, height: 10, fill: c }, svg);
      text(svg, left + 22, 13 + k * 17, label, { class: "tick", id });
    });
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  }

  /** The legend's words for a fit, from where it sits against the target's peaks. */
  function fitShape(fit, peaks) {
    const d = describeFit(fit, peaks);
    const at = (x) => "x = " + fmtShort(x);
    if (d.kind === "single") return `P has one peak (at ${at(peaks[0])}), and Q sits on it`;
    if (d.kind === "both") return peaks.length === 2 ? "spans both peaks of P" : `spans all ${peaks.length} peaks of P`;
    if (d.kind === "one") return `picks one peak of P (at ${at(d.covered[0])})`;
    if (d.kind === "some") return `spans ${d.covered.length} of the ${peaks.length} peaks of P`;
    return "sits between the peaks of P";
  }

  function fmtShort(x) {
    return x.toFixed(2).replace("-", MINUS);
  }

  let fitPending = false;
  function scheduleFit() {
    if (fitPending) return;
    fitPending = true;
    requestAnimationFrame(() => {
      fitPending = false;
      refit();
      renderFit();
    });
  }

  // ------------------------------------------------------------------ widget 4: gradients

  const GRADIENT_OUTPUTS = ["v-z", "v-yhat", "v-ce", "v-se", "v-dce", "v-dse", "v-ratio", "v-zstar"];

  /** Before the prediction: every number of the panel reads "?", never an empty cell. */
  function renderGradientPending() {
    for (const id of GRADIENT_OUTPUTS) {
      const node = document.getElementById(id);
      node.textContent = "?";
      node.className = "pending";
      node.title = "answer the question above first";
      delete node.dataset.value;
    }
    const verdict = document.getElementById("v-below");
    verdict.textContent = "? (answer the question above first)";
    verdict.className = "pending";
    drawGradPlots(false);
  }

  function renderGradient() {
    if (state.predicted === null) {
      renderGradientPending();
      return;
    }
    const { z, y } = state;
    const r = sigmoidUnit(z, y);
    for (const id of GRADIENT_OUTPUTS) document.getElementById(id).className = "";
    show("v-z", z);
    show("v-yhat", r.yhat);
    show("v-ce", r.ce);
    show("v-se", r.se);
    show("v-dce", r.dce);
    show("v-dse", r.dse);
    show("v-ratio", r.ratio);
    show("v-zstar", ONE_PERCENT_Z);
    const below = Math.abs(z) > ONE_PERCENT_Z;
    const wrong = (y === 1 && z < 0) || (y === 0 && z > 0);
    const verdict = document.getElementById("v-below");
    verdict.textContent = below
      ? `yes: squared error's gradient is ${fmt(100 * r.ratio)} % of cross-entropy's` +
        (wrong ? " — and the model is confidently wrong, so it barely learns." : " (the model is confidently right: both are small).")
      : `no: squared error's gradient is ${fmt(100 * r.ratio)} % of cross-entropy's.`;
    verdict.className = below && wrong ? "warn" : "";
    drawGradPlots(true);
  }

  const SUPERSCRIPT = "⁰¹²³⁴⁵⁶⁷⁸⁹";
  const SUPERSCRIPT_MINUS = "⁻";

  const GRAD = { W: 640, H: 220, left: 50, right: 630, top: 10, bottom: 182 };

  /** Both gradient plots; before the prediction only their axes and a note. */
  function drawGradPlots(revealed) {
    document.getElementById("v-plot-y").textContent = String(state.y);
    const linear = { id: "grad-plot", lo: -1, hi: 1, ticks: [-1, -0.5, 0, 0.5, 1],
      value: (g) => g, label: "∂L/∂z" };
    // |∂L/∂z| down to 1e-5: squared error's fall over |z| ≤ 10 fits, and a zero sits at the floor.
    const logScale = { id: "grad-log-plot", lo: -5, hi: 0, ticks: [-5, -4, -3, -2, -1, 0],
      value: (g) => Math.max(-5, Math.log10(Math.abs(g))), label: "|∂L/∂z|",
      tickText: (t) => (t === 0 ? "1" : "10" + SUPERSCRIPT_MINUS + SUPERSCRIPT[-t]) };
    for (const spec of [linear, logScale]) {
      const svg = document.getElementById(spec.id);
      clear(svg);
      const frame = gradFrame(svg, spec);
      if (revealed) gradCurves(svg, spec, frame);
      else text(svg, (GRAD.left + GRAD.right) / 2, (GRAD.top + GRAD.bottom) / 2, "Answer the question to draw the curves",
        { class: "placeholder", "text-anchor": "middle" });
      svg.setAttribute("viewBox", `0 0 ${GRAD.W} ${GRAD.H}`);
    }
  }

  /** Axes, grid and the shaded confidently-wrong region; returns the coordinate maps. */
  function gradFrame(svg, spec) {
    const { left, right, top, bottom } = GRAD;
    const x = (v) => left + ((v + 10) / 20) * (right - left);
    const yy = (v) => bottom - ((v - spec.lo) / (spec.hi - spec.lo)) * (bottom - top);
    const shadeFrom = state.y === 1 ? -10 : ONE_PERCENT_Z;
    const shadeTo = state.y === 1 ? -ONE_PERCENT_Z : 10;
    // Before the prediction the shading would give the answer away.
    if (state.predicted !== null) {
      svgEl("rect", { x: x(shadeFrom), y: top, width: x(shadeTo) - x(shadeFrom), height: bottom - top, fill: "#F0E442", opacity: 0.45 }, svg);
    }
    for (const t of spec.ticks) {
      svgEl("line", { x1: left, x2: right, y1: yy(t), y2: yy(t), class: "grid" }, svg);
      const label = spec.tickText ? spec.tickText(t) : String(t).replace("-", MINUS);
      text(svg, left - 4, yy(t) + 4, label, { class: "tick", "text-anchor": "end" });
    }
    for (let t = -10; t <= 10; t += 5) text(svg, x(t), bottom + 16, String(t).replace("-", MINUS), { class: "tick", "text-anchor": "middle" });
    text(svg, right, bottom + 32, "logit z", { class: "axis", "text-anchor": "end" });
    text(svg, left + 4, top + 12, spec.label, { class: "axis" });
    return { x, yy };
  }

  function gradCurves(svg, spec, frame) {
    const { x, yy } = frame;
    const { z, y } = state;
    const r = sigmoidUnit(z, y);
    const zs = Array.from({ length: 401 }, (_, i) => -10 + i * 0.05);
    const curve = (key) => zs.map((v, i) => `${i ? "L" : "M"}${x(v).toFixed(1)},${yy(spec.value(sigmoidUnit(v, y)[key])).toFixed(1)}`).join("");
    svgEl("path", { d: curve("dce"), fill: "none", stroke: COLOUR.P, "stroke-width": 2.5 }, svg);
    svgEl("path", { d: curve("dse"), fill: "none", stroke: COLOUR.D, "stroke-width": 2.5, "stroke-dasharray": "7 4" }, svg);
    svgEl("line", { x1: x(z), x2: x(z), y1: GRAD.top, y2: GRAD.bottom, stroke: "#000" }, svg);
    svgEl("circle", { cx: x(z), cy: yy(spec.value(r.dce)), r: 5, fill: COLOUR.P }, svg);
    svgEl("circle", { cx: x(z), cy: yy(spec.value(r.dse)), r: 5, fill: COLOUR.D }, svg);
    // A style, not a fill attribute: the "tick" class's fill would win over the attribute.
    text(svg, GRAD.right - 4, GRAD.top + 14, "cross-entropy", { class: "tick", "text-anchor": "end", style: `fill:${COLOUR.P}` });
    text(svg, GRAD.right - 4, GRAD.top + 30, "squared error", { class: "tick", "text-anchor": "end", style: `fill:${COLOUR.D}` });
  }

  // ------------------------------------------------------------------ predict, then reveal

  const PREDICT_Z = -6;

  function answerPrediction(choice) {
    state.predicted = choice;
    const r = sigmoidUnit(PREDICT_Z, 1);
    const pct = 100 * Math.abs(r.dse) / Math.abs(r.dce);
    const right = choice === "under1";
    const box = document.getElementById("reveal");
    box.hidden = false;
    document.getElementById("reveal-verdict").textContent = right
      ? "Right."
      : "Not quite.";
    show("v-pred-dce", r.dce);
    show("v-pred-dse", r.dse);
    show("v-pred-pct", pct);
    for (const b of document.querySelectorAll("#predict button")) {
      b.disabled = true;
      b.classList.toggle("chosen", b.dataset.choice === choice);
    }
    document.getElementById("gradient-panel").classList.remove("veiled");
    for (const input of document.querySelectorAll("#gradient-panel input")) input.disabled = false;
    state.z = PREDICT_Z;
    state.y = 1;
    document.getElementById("z-slider").value = String(PREDICT_Z);
    document.getElementById("y1").checked = true;
    renderGradient();
  }

  // ------------------------------------------------------------------ the lab's results

  function pct(x) {
    return x === null || x === undefined ? "—" : (100 * x).toFixed(1);
  }

  function renderResults(results, source) {
    state.results = results;
    const box = document.getElementById("lab-results");
    clear(box);
    const p = (t) => {
      const node = document.createElement("p");
      node.textContent = t;
      box.appendChild(node);
      return node;
    };
    if (!results || !results.training) {
      p("This file does not look like the lab's results.json (no \"training\" entry).");
      return;
    }
    const meta = results.meta || {};
    p(`Loaded ${source}: seed ${meta.seed}, ${meta.quick ? "quick configuration (a smoke test, not findings)" : "full run"}, infoloss ${meta.infoloss_version}.`);
    const wrap = document.createElement("div");
    wrap.className = "scroll";
    const table = document.createElement("table");
    const losses = ["ce", "mse", "mse-logits"];
    const head = table.createTHead().insertRow();
    for (const h of ["dataset / model", ...losses.map((l) => `${l}: test acc % (lr)`)]) {
      const th = document.createElement("th");
      th.textContent = h;
      head.appendChild(th);
    }
    const body = table.createTBody();
    for (const [name, perModel] of Object.entries(results.training)) {
      for (const [model, res] of Object.entries(perModel)) {
        const row = body.insertRow();
        row.insertCell().textContent = `${name} / ${model}`;
        for (const l of losses) {
          const v = res.losses[l];
          const cell = row.insertCell();
          cell.className = "n";
          cell.textContent = v ? `${pct(v.final_test_acc_mean)} ± ${pct(v.final_test_acc_std)} (${v.lr})` : "—";
        }
      }
    }
    wrap.appendChild(table);
    box.appendChild(wrap);
    const grad = results.gradients && results.gradients.y1;
    if (grad) {
      p(`The lab's gradient check: at y = 1, z = ${grad.z_wrong8}, ∂L/∂z is ${grad.grad_ce_at_wrong8} for cross-entropy and ${grad.grad_se_at_wrong8} for squared error. Move the slider above to z = ${grad.z_wrong8} to see the same numbers computed here.`);
    }
    const sat = results.saturation;
    if (sat && sat.binary) {
      const m = sat.show_margin;
      const parts = sat.binary.losses.map((l) => {
        const run = sat.binary.runs[l][m];
        const e = run.epochs_to_recover_mean;
        return `${l}: ${e === null ? "never, within the run" : `${e} epochs`}`;
      });
      p(`Starting confidently wrong (${sat.binary.dataset}, median wrong margin ${m}), epochs to 90 % test accuracy — ${parts.join("; ")}.`);
    }
  }

  function loadEmbeddedResults() {
    const node = document.getElementById("lab-results-data");
    const raw = node ? node.textContent.trim() : "";
    // The page asks for nothing: results come embedded by `infoloss explore` or from the picker.
    if (raw && raw !== "null") renderResults(JSON.parse(raw), node.dataset.source || "results.json");
  }

  // ------------------------------------------------------------------ wiring

  function presets() {
    return {
      note: [[0.9, 0.05, 0.05], [1 / 3, 1 / 3, 1 / 3]],
      equal: [state.P.slice(), state.P.slice()],
      uniformQ: [state.P.slice(), state.P.map(() => 1 / state.P.length)],
      missing: [[0.5, 0.5, 0], [0.4, 0.3, 0.3]],
    };
  }

  function setOutcomes(n) {
    state.P = resize(state.P, n);
    state.Q = resize(state.Q, n);
    document.getElementById("n-outcomes").value = String(n);
    renderDistributions();
  }

  function init() {
    for (const radio of document.querySelectorAll("input[name=unit]")) {
      radio.addEventListener("change", () => {
        state.unit = radio.value;
        renderDistributions();
        renderFit();
      });
    }
    attachDrag(document.getElementById("bars-P"), "P");
    attachDrag(document.getElementById("bars-Q"), "Q");
    document.getElementById("n-outcomes").addEventListener("change", (ev) => {
      const n = Math.min(10, Math.max(2, Math.round(Number(ev.target.value) || 2)));
      setOutcomes(n);
    });
    for (const button of document.querySelectorAll("[data-preset]")) {
      button.addEventListener("click", () => {
        const [P, Q] = presets()[button.dataset.preset];
        state.P = P.slice();
        state.Q = Q.slice();
        document.getElementById("n-outcomes").value = String(P.length);
        renderDistributions();
      });
    }
    for (const key of Object.keys(state.target)) {
      const slider = document.getElementById(`t-${key}`);
      slider.value = String(state.target[key]);
      slider.addEventListener("input", () => {
        state.target[key] = Number(slider.value);
        scheduleFit();
      });
    }
    const z = document.getElementById("z-slider");
    z.value = String(state.z);
    z.addEventListener("input", () => {
      state.z = Number(z.value);
      renderGradient();
    });
    for (const radio of document.querySelectorAll("input[name=label]")) {
      radio.addEventListener("change", () => {
        state.y = Number(radio.value);
        renderGradient();
      });
    }
    for (const b of document.querySelectorAll("#predict button")) {
      b.addEventListener("click", () => answerPrediction(b.dataset.choice));
    }
    document.getElementById("results-file").addEventListener("change", (ev) => {
      const file = ev.target.files[0];
      if (!file) return;
      file.text().then((t) => {
        try {
          renderResults(JSON.parse(t), file.name);
        } catch (err) {
          renderResults(null, file.name);
        }
      });
    });
    renderDistributions();
    refit();
    renderFit();
    renderGradient();
    loadEmbeddedResults();
    document.body.dataset.ready = "1";
  }

  window.infolossExplorer = { math, state, fmt, fitArrays, setOutcomes, renderDistributions };
  document.addEventListener("DOMContentLoaded", init);
})();
