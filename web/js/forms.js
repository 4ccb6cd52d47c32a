// forms.js - a form for every operation, with pickers that offer existing
// pids, addresses inside existing VMAs, files and frames.
const A = '0x7f0000000000';
const FREE = 'other';

const FIELDS = {
  spawn: [['layout', 'choice', ['empty', 'process']]],
  file: [['name', 'text', 'libc.so'], ['pages', 'number', 16]],
  mmap: [['pid', 'pid'], ['addr', 'text', A], ['len', 'number', 8192], ['prot', 'choice', ['rw-', 'r--', 'r-x', '---']],
    ['type', 'choice', ['private', 'shared']], ['anonymous', 'check', true], ['fixed', 'check', true],
    ['file', 'file'], ['offset', 'number', 0]],
  access: [['pid', 'pid'], ['addr', 'addr'], ['write', 'check', true]],
  fork: [['pid', 'pid']],
  exit: [['pid', 'pid']],
  munmap: [['pid', 'pid'], ['addr', 'addr'], ['len', 'number', 4096]],
  mprotect: [['pid', 'pid'], ['addr', 'addr'], ['len', 'number', 4096], ['prot', 'choice', ['r--', 'rw-', 'r-x', '---']]],
  mremap: [['pid', 'pid'], ['addr', 'addr'], ['old_len', 'number', 4096], ['new_len', 'number', 4096],
    ['maymove', 'check', true], ['fixed', 'check', false], ['new_addr', 'text', '0x7f0000100000']],
  madvise: [['pid', 'pid'], ['addr', 'addr'], ['len', 'number', 4096],
    ['advice', 'choice', ['dontneed', 'dontfork', 'dofork', 'wipeonfork', 'keeponfork', 'pageout']]],
  brk: [['pid', 'pid'], ['addr', 'text', '0x1001000']],
  try_to_unmap: [['pfn', 'pfn']],
  folio_referenced: [['pfn', 'pfn']],
};

export function setupForm(form, kindSelect, fieldsBox, getState) {
  for (const k of Object.keys(FIELDS)) {
    const o = document.createElement('option');
    o.value = o.textContent = k;
    kindSelect.appendChild(o);
  }
  const render = () => {
    const st = getState();
    fieldsBox.replaceChildren();
    for (const [name, type, def] of FIELDS[kindSelect.value]) {
      const label = document.createElement('label');
      label.textContent = name + ' ';
      let input;
      const options = (list) => {
        input = document.createElement('select');
        for (const [v, t] of list) {
          const o = document.createElement('option');
          o.value = v; o.textContent = t;
          input.appendChild(o);
        }
      };
      if (type === 'choice') options(def.map((v) => [v, v]));
      else if (type === 'pid') options((st?.processes || []).map((p) => [p.pid, `pid ${p.pid}`]));
      else if (type === 'file') options([['', '—'], ...(st?.files || []).filter((f) => !f.shmem).map((f) => [f.name, f.name])]);
      else if (type === 'pfn') options((st?.frames || []).map((f) => [f.pfn, `pfn ${f.pfn}`]));
      else if (type === 'addr') {
        // filled by fillAddrs() from the pid chosen above, with a free field
        input = document.createElement('select');
        input.dataset.addr = 'true';
      } else {
        input = document.createElement('input');
        if (type === 'check') { input.type = 'checkbox'; input.checked = def; }
        else { input.type = type === 'number' ? 'number' : 'text'; input.value = def; }
      }
      input.name = name;
      label.appendChild(input);
      fieldsBox.appendChild(label);
      if (type === 'addr') {
        const free = document.createElement('input');
        free.type = 'text';
        free.name = name + '_free';
        free.placeholder = '0x… any address';
        free.setAttribute('aria-label', `${name}, typed`);
        free.hidden = true;
        label.appendChild(free);
        input.addEventListener('change', () => { free.hidden = input.value !== FREE; });
      }
    }
    fillAddrs();
    form.elements.pid?.addEventListener('change', fillAddrs);
  };
  // the addresses of the chosen process's VMAs: every page of a small VMA,
  // the first and last pages of a big one; 'other' opens a free field
  const fillAddrs = () => {
    const st = getState();
    const pid = Number(form.elements.pid?.value);
    const p = (st?.processes || []).find((x) => x.pid === pid);
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
  return { render, read: () => readOp(kindSelect.value, form) };
}

function readOp(kind, form) {
  const v = (n) => form.elements[n];
  const op = { op: kind };
  const num = (n) => Number(v(n).value);
  const pid = () => Number(v('pid').value);
  const addr = () => (v('addr').value === FREE ? v('addr_free').value.trim() : v('addr').value);
  switch (kind) {
    case 'spawn': if (v('layout').value === 'process') op.layout = 'process'; break;
    case 'file': op.name = v('name').value; op.pages = num('pages'); break;
    case 'mmap': {
      op.pid = pid(); op.addr = v('addr').value; op.len = num('len'); op.prot = v('prot').value;
      op.flags = [v('type').value];
      if (v('anonymous').checked) op.flags.push('anonymous');
      else { op.file = v('file').value; op.offset = num('offset'); }
      if (v('fixed').checked) op.flags.push('fixed');
      break;
    }
    case 'access': op.pid = pid(); op.addr = addr(); op.write = v('write').checked; break;
    case 'fork': case 'exit': op.pid = pid(); break;
    case 'munmap': op.pid = pid(); op.addr = addr(); op.len = num('len'); break;
    case 'mprotect': op.pid = pid(); op.addr = addr(); op.len = num('len'); op.prot = v('prot').value; break;
    case 'mremap':
      op.pid = pid(); op.addr = addr(); op.old_len = num('old_len'); op.new_len = num('new_len');
      op.flags = [];
      if (v('maymove').checked) op.flags.push('maymove');
      if (v('fixed').checked) { op.flags.push('fixed'); op.new_addr = v('new_addr').value; }
      break;
    case 'madvise': op.pid = pid(); op.addr = addr(); op.len = num('len'); op.advice = v('advice').value; break;
    case 'brk': op.pid = pid(); op.addr = v('addr').value; break;
    default: op.pfn = Number(v('pfn').value);
  }
  return op;
}
