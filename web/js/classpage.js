// classpage.js - a class, as its members see it.  Students (and TAs) see
// the live lesson, follow it (the instructor's session, at the lesson step
// the instructor shows, read-only) and take a copy of the step shown into
// a session of their own; and the sessions published to the class.  The
// instructor sees the roster with each member's sessions and use, starts
// and stops the live lesson, and publishes sessions.
import { call } from './api.js';
import { el, openPanel, mine, when, pause } from './account.js';

const $ = (id) => document.getElementById(id);
const enc = encodeURIComponent;

// the classes whose live lesson this instructor runs: class -> session
const running = new Map();
// what a follower follows: the class, its stream's abort, what is shown
const follow = { cls: null, ctl: null, key: null };

const isLesson = (name) => [...$('lesson-picker').options].some((o) => o.value && o.value === name);
const liveOf = (cls) => call('GET', `/api/v1/classes/${enc(cls)}/live`);

export function classButton(page, c, panelButton) {
  const b = panelButton(`class:${c.name}`, `Class ${c.name}`, () => showClass(page, c), page);
  b.classList.add('class-button');
  return b;
}

// ---- the instructor: the live lesson moves with their steps ----

// what each class's live lesson was last told: class -> JSON of the body
const told = new Map();

function liveBody(page) {
  const app = page.app;
  const body = app.lesson ? { session: app.id, step: app.step } : { session: app.id };
  return { ...body, walk: page.walk() };
}

async function tell(page, cls) {
  const body = liveBody(page);
  await call('POST', `/api/v1/classes/${enc(cls)}/live`, body);
  told.set(cls, JSON.stringify(body));
}

// after a lesson step, and after the walk shown starts, steps or ends: the
// classes following the session shown are told what changed (each once)
export async function stepHook(page) {
  for (const [cls, id] of running) {
    if (id === page.app.id && told.get(cls) !== JSON.stringify(liveBody(page))) await tell(page, cls);
  }
}

export const walkHook = (page) => {
  if ([...running.values()].includes(page.app.id)) page.run(() => stepHook(page));
};

// ---- following ----

function followBar(page, text) {
  const bar = $('follow-bar');
  const copy = el('button', { id: 'take-copy', text: 'Take a copy of this step',
    title: 'a session of your own with the ops up to the step shown', onclick: () => takeCopy(page) });
  const stop = el('button', { text: 'Stop following', onclick: () => page.run(async () => {
    stopFollow(page);
    page.say('You no longer follow the live lesson.');
  }) });
  bar.replaceChildren(el('span', { id: 'follow-text', text }), copy, stop);
  copy.hidden = !page.app.id;
  bar.hidden = false;
}

// Shows the live lesson if it moved (another step, another op, another
// session); runs inside page.run().
async function catchUp(page, cls, signal) {
  if (signal.aborted || follow.cls !== cls) return;
  const live = await liveOf(cls);
  if (!live.session) {
    follow.key = null;
    followBar(page, `${cls} has no live lesson now: its instructor stopped it, or has not started it.`);
    $('take-copy').hidden = true;
    await page.showWalk(null);
    return;
  }
  const sum = await call('GET', `/api/v1/sessions/${live.session}?view=summary`);
  const key = `${live.session}:${live.step}:${sum.version}`;
  if (key !== follow.key) {
    follow.key = key;
    const lesson = live.step !== null && isLesson(sum.name) ? sum.name : null;
    await page.openSession(live.session, lesson, live.step ?? 0);
    const app = page.app;
    const where = app.lesson ? `${app.lesson.title}, step ${app.step} of ${app.lesson.steps.length}` : `#${app.id} ${sum.name}`;
    followBar(page, `Following the live lesson of ${cls}: ${where} (op ${app.view ?? app.latest}), read-only.`);
  }
  await page.showWalk(live.walk ?? null);
}

// Waits on the live session's event stream: a new op or a new step ends
// it, and the lesson is looked at again.  Once the stream's head is in,
// the daemon will wake it for any change, so one more look then catches a
// change made while it was opening.
async function loop(page, cls, signal) {
  while (!signal.aborted) {
    try {
      const live = await liveOf(cls);
      if (!live.session) {
        await pause(2000, signal);
        await page.run(() => catchUp(page, cls, signal));
        continue;
      }
      const r = await fetch(`/api/v1/sessions/${live.session}/events?since=${page.app.latest}`,
        { signal, headers: { Accept: 'text/event-stream' } });
      if (!r.ok) { await pause(2000, signal); continue; }
      await page.run(() => catchUp(page, cls, signal));
      const reader = r.body.getReader();
      while (!(await reader.read()).done) { /* to its end */ }
      await page.run(() => catchUp(page, cls, signal));
    } catch (e) {
      if (signal.aborted) return;
      await pause(2000, signal);
    }
  }
}

// inside page.run()
async function startFollow(page, cls) {
  stopFollow(page);
  follow.cls = cls;
  follow.ctl = new AbortController();
  page.following = cls;
  page.unfollow = () => stopFollow(page);
  document.body.dataset.following = cls;
  const signal = follow.ctl.signal;
  await catchUp(page, cls, signal);
  loop(page, cls, signal);
}

function stopFollow(page) {
  follow.ctl?.abort();
  follow.cls = follow.ctl = follow.key = null;
  page.following = null;
  document.body.dataset.following = '';
  $('follow-bar').hidden = true;
}

function takeCopy(page) {
  page.run(async () => {
    const app = page.app;
    const v = app.view ?? app.latest;
    const lesson = app.lesson ? app.lesson.name : null;
    const step = app.step;
    const copy = await call('POST', `/api/v1/sessions/${app.id}/snapshots/@${v}/clone`);
    stopFollow(page);
    await page.openSession(copy.id, lesson, step);
    page.say(`Your copy: session #${copy.id} at op ${v}, yours to change.`);
  });
}

// From boot(): #/class/NAME follows that class's live lesson, and with no
// session named in the URL a student follows their class's live lesson.
export async function beginClass(page, me) {
  for (const c of me.classes.filter((x) => x.role === 'instructor')) {
    const live = await liveOf(c.name);
    if (live.session) running.set(c.name, live.session);
  }
  const m = location.hash.match(/^#\/class\/([\w.-]+)/);
  if (m && me.classes.some((c) => c.name === m[1])) {
    await startFollow(page, m[1]);
    return true;
  }
  if (location.hash.startsWith('#/s/')) return false;
  for (const c of me.classes.filter((x) => x.role !== 'instructor')) {
    if ((await liveOf(c.name)).session) {
      await startFollow(page, c.name);
      return true;
    }
  }
  return false;
}

// ---- the class panel ----

function openButton(page, id, text = 'Open') {
  return el('button', { text, onclick: () => page.run(async () => {
    if (page.following) stopFollow(page);
    await page.openSession(id);
  }) });
}

function livePart(page, c, live, sessions, lessons) {
  const name = (id) => sessions.find((s) => s.id === id)?.name ?? '';
  const now = live.session
    ? `Live now: session #${live.session} ${name(live.session)}${live.step !== null ? `, lesson step ${live.step}` : ''}.`
    : 'No live lesson now.';
  const part = el('div', { class: 'live' }, el('p', { id: 'class-live', text: now }));
  if (c.role !== 'instructor') {
    if (live.session && follow.cls !== c.name) {
      part.append(el('button', { id: 'follow-live', text: 'Follow the live lesson',
        onclick: () => page.run(() => startFollow(page, c.name)) }));
    }
    return part;
  }
  const app = page.app;
  const ours = app.id && sessions.some((s) => s.id === app.id && mine(s));
  part.append(el('button', { id: 'start-live', text: `Start live with the session shown (#${app.id})`,
    disabled: !ours || live.session === app.id, onclick: () => page.run(async () => {
      await tell(page, c.name);
      running.set(c.name, app.id);
      await showClass(page, c);
    }) }));
  if (live.session) {
    part.append(el('button', { id: 'stop-live', text: 'Stop live', onclick: () => page.run(async () => {
      await call('DELETE', `/api/v1/classes/${enc(c.name)}/live`);
      running.delete(c.name);
      told.delete(c.name);
      await showClass(page, c);
    }) }));
  }
  const published = lessons.some((l) => l.session === app.id);
  part.append(el('button', { id: 'publish', text: published ? `#${app.id} is published to the class`
    : 'Publish the session shown to the class', disabled: !ours || published,
    title: 'its members may read it (never change it)', onclick: () => page.run(async () => {
      await call('POST', `/api/v1/classes/${enc(c.name)}/lessons`, { session: app.id });
      await showClass(page, c);
    }) }));
  return part;
}

// a class's published lessons (GET /api/v1/classes/{class}: its lessons)
function lessonsPart(page, lessons) {
  if (!lessons.length) return el('p', { class: 'muted', text: 'Nothing published to the class yet.' });
  return el('ul', { id: 'class-lessons' }, ...lessons.map((l) => el('li', { dataset: { session: l.session } },
    `#${l.session} ${l.name} (op ${l.version}) `, openButton(page, l.session))));
}

function rosterRow(page, m) {
  const cell = el('td', { class: 'member-sessions' });
  for (const s of m.sessions) {
    cell.append(el('div', { dataset: { session: s.id } }, `#${s.id} ${s.name} · op ${s.version}`
      + `${s.last_activity ? ` · ${when(s.last_activity)}` : ''} `, openButton(page, s.id)));
  }
  if (!m.sessions.length) cell.append(el('span', { class: 'muted', text: 'none' }));
  const last = m.sessions.map((s) => s.last_activity || 0).reduce((a, b) => Math.max(a, b), 0);
  const use = m.use ? `${m.use.sessions} session${m.use.sessions === 1 ? '' : 's'}`
    + `${m.use.ops !== undefined ? `, ${m.use.ops} ops` : ''}${m.use.stored_bytes !== undefined ? `, ${m.use.stored_bytes} bytes` : ''}` : '';
  return el('tr', { dataset: { member: m.name } },
    el('td', { text: m.display ? `${m.display} (${m.name})` : m.name }), el('td', { text: m.role }), cell,
    el('td', { text: last ? when(last) : '—' }), el('td', { text: use }));
}

async function rosterPart(page, c) {
  let members;
  try {
    members = await call('GET', `/api/v1/classes/${enc(c.name)}/members`);
  } catch (e) {
    if (e.status !== 403) throw e;
    return el('p', { class: 'muted', text: `The roster is for the instructors of ${c.name}: ${e.message}` });
  }
  return el('table', { id: 'roster' },
    el('thead', {}, el('tr', {}, ...['member', 'role', 'sessions', 'last activity', 'use'].map((t) => el('th', { text: t })))),
    el('tbody', {}, ...members.map((m) => rosterRow(page, m))));
}

async function showClass(page, c) {
  const [live, sessions, cls] = await Promise.all([liveOf(c.name), call('GET', '/api/v1/sessions'),
    call('GET', `/api/v1/classes/${enc(c.name)}`)]);
  const parts = [el('h3', { text: 'Live lesson' }), livePart(page, c, live, sessions, cls.lessons),
    el('h3', { text: 'Published lessons' }), lessonsPart(page, cls.lessons)];
  if (c.role !== 'student') parts.push(el('h3', { text: 'Roster' }), await rosterPart(page, c));
  openPanel(`class:${c.name}`, `Class ${c.name} · you are ${c.role === 'ta' ? 'a TA' : `its ${c.role}`}`, ...parts);
}
