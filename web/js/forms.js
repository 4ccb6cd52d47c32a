// forms.js - a form for every operation: each field with a human label,
// its unit and a line of help, shown only when it applies (a file mapping's
// file and offset, mremap's new address), with pickers that offer existing
// pids, addresses inside existing VMAs, files and frames.
const A = '0x7f0000000000';
const FREE = 'other';
const PAGE = 4096;

// A field: name (the syscall's argument, sent as is), type, default,
// label, help, bytes (a length or offset: the hint says it in pages) and
// when (shown only while it holds for the form's current values).
const f = (name, type, def, label, help, more = {}) => ({ name, type, def, label, help, ...more });
const pid = f('pid', 'pid', null, 'process', 'the process (mm) that makes the call');
const at = (help) => f('addr', 'addr', null, 'address', help);
const length = (def, help) => f('len', 'number', def, 'length (bytes)', help, { bytes: true });
const anonOff = (v) => !v.anonymous;

const FIELDS = {
  spawn: [f('layout', 'choice', ['empty', 'process'], 'layout',
    'empty: an mm with no VMAs; process: text, data, bss, heap and stack as after exec')],
  file: [f('name', 'text', 'libc.so', 'file name', 'a new regular file, all its pages in the page cache'),
    f('pages', 'number', 16, 'size (pages)', 'how many 4 KiB pages the file holds')],
  mmap: [pid,
    f('addr', 'text', A, 'address', 'with MAP_FIXED exactly here (page aligned); without it a hint the kernel may ignore'),
    length(8192, 'rounded up to whole pages'),
    f('prot', 'choice', ['rw-', 'r--', 'r-x', '---'], 'protection', 'PROT_READ, PROT_WRITE, PROT_EXEC'),
    f('type', 'choice', ['private', 'shared'], 'sharing', 'MAP_PRIVATE: writes are copied (COW); MAP_SHARED: writes reach the file or the shared memory'),
    f('anonymous', 'check', true, 'anonymous (MAP_ANONYMOUS)', 'memory backed by no file; untick to map a file'),
    f('fixed', 'check', true, 'fixed (MAP_FIXED)', 'map exactly at the address, unmapping whatever is there'),
    f('file', 'file', null, 'file', 'the file to map (create one with the "file" operation)', { when: anonOff }),
    f('offset', 'number', 0, 'file offset (bytes)', 'where in the file the mapping starts; a multiple of 4096',
      { bytes: true, aligned: true, when: anonOff })],
  access: [pid, at('the address the process touches'),
    f('write', 'check', true, 'write', 'a store; unticked, a load (a read fault)')],
  fork: [f('pid', 'pid', null, 'process', 'the parent: the child gets a copy of its mm (dup_mmap)')],
  exit: [f('pid', 'pid', null, 'process', 'the process that exits: exit_mmap unmaps all its VMAs')],
  munmap: [pid, at('the first page to unmap'), length(4096, 'rounded up to whole pages; VMAs across the range are split at its ends')],
  mprotect: [pid, at('the first page to change'), length(4096, 'rounded up to whole pages'),
    f('prot', 'choice', ['r--', 'rw-', 'r-x', '---'], 'new protection', 'the VMA is split where the range cuts it')],
  mremap: [pid, at('the start of the mapping to resize or move'),
    f('old_len', 'number', 4096, 'old length (bytes)', 'the part of the mapping to take', { bytes: true }),
    f('new_len', 'number', 4096, 'new length (bytes)', 'its size afterwards', { bytes: true }),
    f('maymove', 'check', true, 'may move (MREMAP_MAYMOVE)', 'the kernel may move it where there is room to grow'),
    f('fixed', 'check', false, 'fixed (MREMAP_FIXED)', 'move it to the new address below'),
    f('new_addr', 'text', '0x7f0000100000', 'new address', 'where it moves to (page aligned)', { when: (v) => v.fixed })],
  madvise: [pid, at('the first page the advice is for'), length(4096, 'rounded up to whole pages'),
    f('advice', 'choice', ['dontneed', 'dontfork', 'dofork', 'wipeonfork', 'keeponfork', 'pageout'], 'advice',
      'MADV_DONTNEED zaps the pages; DONTFORK/WIPEONFORK change what fork copies; PAGEOUT reclaims')],
  brk: [pid, f('addr', 'text', '0x1001000', 'new program break', 'the heap ends here (a process spawned with layout "process" has one)')],
  try_to_unmap: [f('pfn', 'pfn', null, 'frame (pfn)', 'reclaim this page: unmap it from every PTE the rmap walk finds')],
  folio_referenced: [f('pfn', 'pfn', null, 'frame (pfn)', 'ask every mapping whether the page was used, clearing the young bits')],
};

const pagesOf = (n) => Math.ceil(n / PAGE);
const kib = (n) => (n >= 1 << 20 ? `${n / (1 << 20)} MiB` : `${n / 1024} KiB`);

// what a byte count means in pages, or why the kernel will refuse it
function byteHint(field, value) {
  const n = Number(value);
  if (value === '' || !Number.isFinite(n) || n < 0 || !Number.isInteger(n)) return ['a whole number of bytes', true];
  if (field.aligned && n % PAGE) return [`not a multiple of 4096: the kernel refuses it (EINVAL)`, true];
  if (field.aligned) return [`page ${n / PAGE} of the file`, false];
  if (n === 0) return ['0 bytes: the kernel refuses an empty range (EINVAL)', true];
  const p = pagesOf(n);
  const round = n % PAGE ? `, rounded up from ${n} bytes` : '';
  return [`= ${p} page${p === 1 ? '' : 's'} (${kib(p * PAGE)}${round})`, false];
}

function control(field, st) {
  const options = (list) => {
    const sel = document.createElement('select');
    for (const [v, t] of list) {
      const o = document.createElement('option');
      o.value = v; o.textContent = t;
      sel.appendChild(o);
    }
    return sel;
  };
  switch (field.type) {
    case 'choice': return options(field.def.map((v) => [v, v]));
    case 'pid': return options((st?.processes || []).map((p) => [p.pid, `pid ${p.pid}`]));
    case 'file': return options([['', '—'], ...(st?.files || []).filter((x) => !x.shmem).map((x) => [x.name, x.name])]);
    case 'pfn': return options((st?.frames || []).map((x) => [x.pfn, `pfn ${x.pfn}`]));
    case 'addr': {
      // filled by fillAddrs() from the pid chosen above, with a free field
      const sel = document.createElement('select');
      sel.dataset.addr = 'true';
      return sel;
    }
    default: {
      const input = document.createElement('input');
      if (field.type === 'check') { input.type = 'checkbox'; input.checked = field.def; }
      else {
        // no min: a negative length reaches the daemon, whose refusal says why
        input.type = field.type === 'number' ? 'number' : 'text';
        input.value = field.def;
      }
      return input;
    }
  }
}

function restore(input, value) {
  if (input.type === 'checkbox') input.checked = value;
  else if (input.tagName !== 'SELECT' || [...input.options].some((o) => o.value === value)) input.value = value;
}

export function setupForm(form, kindSelect, fieldsBox, getState) {
  for (const k of Object.keys(FIELDS)) {
    const o = document.createElement('option');
    o.value = o.textContent = k;
    kindSelect.appendChild(o);
  }
  let shownKind = null;   // the kind whose fields are drawn
  // the current values, by name, for the fields' when()
  const values = () => Object.fromEntries([...form.elements].filter((e) => e.name)
    .map((e) => [e.name, e.type === 'checkbox' ? e.checked : e.value]));
  // show the fields that apply, refresh the byte hints
  const update = () => {
    const v = values();
    for (const field of FIELDS[shownKind]) {
      const label = fieldsBox.querySelector(`label[data-field="${field.name}"]`);
      if (field.when) label.hidden = !field.when(v);
      if (field.bytes) {
        const [text, warn] = byteHint(field, form.elements[field.name].value);
        const hint = label.querySelector('.unit');
        hint.textContent = text;
        hint.classList.toggle('warn', warn);
      }
    }
  };
  const render = () => {
    const st = getState();
    const keep = values();
    const same = shownKind === kindSelect.value;
    shownKind = kindSelect.value;
    fieldsBox.replaceChildren();
    for (const field of FIELDS[kindSelect.value]) {
      const label = document.createElement('label');
      label.dataset.field = field.name;
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = field.label;
      const input = control(field, st);
      input.name = field.name;
      const help = document.createElement('span');
      help.className = 'hint';
      help.id = `help-${field.name}`;
      help.textContent = field.help;
      input.setAttribute('aria-describedby', help.id);
      if (field.type === 'check') {
        label.className = 'check';
        label.append(input, name);
      } else label.append(name, input);
      if (field.bytes) {
        const unit = document.createElement('span');
        unit.className = 'hint unit';
        unit.id = `unit-${field.name}`;
        unit.setAttribute('aria-live', 'polite');
        input.setAttribute('aria-describedby', `${unit.id} ${help.id}`);
        label.appendChild(unit);
      }
      label.appendChild(help);
      fieldsBox.appendChild(label);
      if (field.type === 'addr') {
        const free = document.createElement('input');
        free.type = 'text';
        free.name = field.name + '_free';
        free.placeholder = '0x… any address';
        free.setAttribute('aria-label', `${field.label}, typed`);
        free.hidden = true;
        name.after(free);
        input.addEventListener('change', () => { free.hidden = input.value !== FREE; });
      }
      // what was typed, ticked or picked stays when the same form is drawn
      // again after an op (a picker only if its choice still exists)
      if (same && field.name in keep) restore(input, keep[field.name]);
    }
    fillAddrs();
    form.elements.pid?.addEventListener('change', fillAddrs);
    update();
  };
  // the addresses of the chosen process's VMAs: every page of a small VMA,
  // the first and last pages of a big one; 'other' opens a free field
  const fillAddrs = () => {
    const st = getState();
    const pidNow = Number(form.elements.pid?.value);
    const p = (st?.processes || []).find((x) => x.pid === pidNow);
    for (const sel of fieldsBox.querySelectorAll('select[data-addr]')) {
      const keep = sel.value;
      sel.replaceChildren();
      for (const v of p?.vmas || []) {
        const group = document.createElement('optgroup');
        group.label = `vma #${v.id} ${v.start}–${v.end} ${v.prot}`;
        const pages = v.pages <= 32 ? [...Array(v.pages).keys()] : [0, 1, 2, 3, v.pages - 2, v.pages - 1];
        for (const i of pages) {
          const a = '0x' + (BigInt(v.start) + BigInt(i) * 4096n).toString(16);
          const o = document.createElement('option');
          o.value = a;
          o.textContent = `${a}${i === 0 ? ' (start)' : i === v.pages - 1 ? ' (last page)' : ''}`;
          group.appendChild(o);
        }
        sel.appendChild(group);
      }
      const o = document.createElement('option');
      o.value = FREE;
      o.textContent = 'other address…';
      sel.appendChild(o);
      if ([...sel.options].some((x) => x.value === keep)) sel.value = keep;
      sel.dispatchEvent(new Event('change'));
    }
  };
  kindSelect.addEventListener('change', render);
  form.addEventListener('input', update);
  form.addEventListener('change', update);
  return { render, read: () => readOp(kindSelect.value, form) };
}

function readOp(kind, form) {
  const v = (n) => form.elements[n];
  const op = { op: kind };
  const num = (n) => Number(v(n).value);
  const pidOf = () => Number(v('pid').value);
  const addr = () => (v('addr').value === FREE ? v('addr_free').value.trim() : v('addr').value);
  switch (kind) {
    case 'spawn': if (v('layout').value === 'process') op.layout = 'process'; break;
    case 'file': op.name = v('name').value; op.pages = num('pages'); break;
    case 'mmap': {
      op.pid = pidOf(); op.addr = v('addr').value; op.len = num('len'); op.prot = v('prot').value;
      op.flags = [v('type').value];
      if (v('anonymous').checked) op.flags.push('anonymous');
      else { op.file = v('file').value; op.offset = num('offset'); }
      if (v('fixed').checked) op.flags.push('fixed');
      break;
    }
    case 'access': op.pid = pidOf(); op.addr = addr(); op.write = v('write').checked; break;
    case 'fork': case 'exit': op.pid = pidOf(); break;
    case 'munmap': op.pid = pidOf(); op.addr = addr(); op.len = num('len'); break;
    case 'mprotect': op.pid = pidOf(); op.addr = addr(); op.len = num('len'); op.prot = v('prot').value; break;
    case 'mremap':
      op.pid = pidOf(); op.addr = addr(); op.old_len = num('old_len'); op.new_len = num('new_len');
      op.flags = [];
      if (v('maymove').checked) op.flags.push('maymove');
      if (v('fixed').checked) { op.flags.push('fixed'); op.new_addr = v('new_addr').value; }
      break;
    case 'madvise': op.pid = pidOf(); op.addr = addr(); op.len = num('len'); op.advice = v('advice').value; break;
    case 'brk': op.pid = pidOf(); op.addr = v('addr').value; break;
    default: op.pfn = Number(v('pfn').value);
  }
  return op;
}

// What an accepted MAP_FIXED mmap replaced: the parts of the process's VMAs
// (in the state before the op) that lay inside the new range, in words; ''
// when it covered nothing.
export function replacedByMmap(op, before, result) {
  if (op.op !== 'mmap' || !op.flags?.includes('fixed') || !result?.ok) return '';
  const p = before?.processes.find((x) => x.pid === op.pid);
  if (!p) return '';
  const lo = BigInt(op.addr), hi = lo + BigInt(pagesOf(op.len) * PAGE);
  const hex = (n) => `0x${n.toString(16)}`;
  const parts = [];
  for (const vma of p.vmas) {
    const s = BigInt(vma.start), e = BigInt(vma.end);
    if (e <= lo || s >= hi) continue;
    const from = s > lo ? s : lo, to = e < hi ? e : hi;
    const whole = from === s && to === e;
    const what = vma.file !== null ? (vma.shmem ? 'shared anonymous' : `file ${vma.file_name}`) : 'anonymous';
    const pages = Number((to - from) / 4096n);
    parts.push(`${whole ? '' : `${hex(from)}–${hex(to)} of `}vma #${vma.id} ${vma.start}–${vma.end} ${vma.prot} ${what}`
      + ` (${pages} page${pages === 1 ? '' : 's'}${whole ? ', all of it' : ''})`);
  }
  if (!parts.length) return '';
  return `MAP_FIXED replaced what was mapped there: ${parts.join('; ')}. Its pages were unmapped first (do_vmi_munmap).`;
}
