// The billiards demo: gradient descent on the cue ball's velocity, the loss and its
// gradient computed by shoot.wasm (compiled by s2sad from shot.py), drawn on a canvas.
import * as shot from "./shoot.mjs";

const FRAMES = 60;          // positions kept for drawing (path is FRAMES x 2n)
const SCALE = 520;          // pixels per unit of the table
const ORIGIN = [80, 180];   // where (0, 0) is drawn
const RADIUS = 0.03;

function rack(rows = 3) {  // the cue ball at the origin, a triangle of balls to its right
  const pos = [[0, 0]];
  for (let row = 0; row < rows; row++) {
    for (let k = 0; k <= row; k++) pos.push([0.5 + row * RADIUS * 1.8, (k - row / 2) * RADIUS * 2.1]);
  }
  return pos;
}

const start = rack();
const n = start.length;
const state = { vx: 2.0, vy: 0.05, target: [1.0, 0.3], loss: NaN, grad: [NaN, NaN],
                steps: 0, rate: 0.004, losses: [], running: true };
let path = shot.matrix(new Float64Array(FRAMES * 2 * n), FRAMES, 2 * n);

const rackMatrix = shot.matrix(start.flat(), n, 2);

function args(vx, vy) {  // (the simulation fills path, for drawing)
  return [vx, vy, rackMatrix, path, state.target[0], state.target[1]];
}

/** One gradient step; the step shrinks when the loss would grow (a backtracking line search). */
function step() {
  const [loss, grad] = shot.valueAndGrad(...args(state.vx, state.vy));
  state.loss = loss;
  state.grad = grad;
  state.losses.push(loss);
  for (let tries = 0; tries < 20; tries++) {
    const vx = state.vx - state.rate * grad[0];
    const vy = state.vy - state.rate * grad[1];
    if (shot.shoot(...args(vx, vy)) <= loss) {
      state.vx = vx;
      state.vy = vy;
      state.rate *= 1.5;
      break;
    }
    state.rate *= 0.5;
  }
  state.steps++;
  shot.shoot(...args(state.vx, state.vy));  // fills path for drawing
}

const canvas = document.getElementById("table");
const ctx = canvas.getContext("2d");
const toScreen = ([x, y]) => [ORIGIN[0] + x * SCALE, ORIGIN[1] - y * SCALE];
const toTable = (px, py) => [(px - ORIGIN[0]) / SCALE, (ORIGIN[1] - py) / SCALE];

function draw() {
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const p = path.data;
  for (let i = 0; i < n; i++) {  // each ball's trajectory
    ctx.strokeStyle = i === 0 ? "rgba(255,255,255,.8)" : i === n - 1 ? "#ffd23f" : "rgba(0,0,0,.35)";
    ctx.lineWidth = 2;
    ctx.beginPath();
    for (let f = 0; f < FRAMES; f++) {
      const [sx, sy] = toScreen([p[f * 2 * n + 2 * i], p[f * 2 * n + 2 * i + 1]]);
      if (f === 0) ctx.moveTo(sx, sy); else ctx.lineTo(sx, sy);
    }
    ctx.stroke();
  }
  for (let i = 0; i < n; i++) {  // the rack where it starts
    const [sx, sy] = toScreen(start[i]);
    ctx.fillStyle = i === 0 ? "#fff" : i === n - 1 ? "#ffd23f" : "#c0392b";
    ctx.beginPath();
    ctx.arc(sx, sy, RADIUS * SCALE, 0, 2 * Math.PI);
    ctx.fill();
  }
  const [tx, ty] = toScreen(state.target);  // the target
  ctx.strokeStyle = "#ffd23f";
  ctx.lineWidth = 3;
  ctx.beginPath();
  ctx.arc(tx, ty, 10, 0, 2 * Math.PI);
  ctx.moveTo(tx - 16, ty); ctx.lineTo(tx + 16, ty); ctx.moveTo(tx, ty - 16); ctx.lineTo(tx, ty + 16);
  ctx.stroke();
  const [cx, cy] = toScreen([0, 0]);  // the shot
  ctx.strokeStyle = "#fff";
  ctx.beginPath();
  ctx.moveTo(cx, cy);
  ctx.lineTo(cx + state.vx * 30, cy - state.vy * 30);
  ctx.stroke();
  document.getElementById("readout").textContent =
    `step ${state.steps}   loss ${state.loss.toExponential(4)}\n` +
    `shot (${state.vx.toFixed(5)}, ${state.vy.toFixed(5)})   ` +
    `gradient (${state.grad[0].toExponential(3)}, ${state.grad[1].toExponential(3)})`;
}

function frame() {
  if (state.running) step();
  draw();
  requestAnimationFrame(frame);
}

let dragging = false;
canvas.addEventListener("pointerdown", (e) => { dragging = true; moveTarget(e); });
canvas.addEventListener("pointermove", (e) => { if (dragging) moveTarget(e); });
window.addEventListener("pointerup", () => { dragging = false; });
function moveTarget(e) {
  const r = canvas.getBoundingClientRect();
  state.target = toTable(e.clientX - r.left, e.clientY - r.top);
  state.rate = 0.004;
}
document.getElementById("run").onclick = (e) => {
  state.running = !state.running;
  e.target.textContent = state.running ? "Pause" : "Run";
};
document.getElementById("reset").onclick = () => {
  Object.assign(state, { vx: 2.0, vy: 0.05, steps: 0, rate: 0.004, losses: [] });
};

// for tests and the console: demo.run(k) takes k steps while paused
window.demo = {
  state, n,
  run(k) { state.running = false; for (let i = 0; i < k; i++) step(); draw(); return state; },
  valueAndGrad(vx, vy) { return shot.valueAndGrad(...args(vx, vy)); },
  timeGrad(k) {
    const t0 = performance.now();
    for (let i = 0; i < k; i++) shot.grad(...args(state.vx, state.vy));
    return (performance.now() - t0) / k;
  },
};

await shot.load();
if (new URLSearchParams(location.search).has("paused")) state.running = false;
step();
draw();
window.demo.ready = true;
requestAnimationFrame(frame);
