// forms.js - a form for every operation, with pickers that offer existing
// pids, addresses inside existing VMAs, files and frames.
const A = '0x7f0000000000';

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
        const addrs = [];
        for (const p of st?.processes || []) {
          for (const v of p.vmas) {
            for (let i = 0; i < Math.min(v.pages, 16); i++) {
              addrs.push(['0x' + (BigInt(v.start) + BigInt(i * 4096)).toString(16), `pid ${p.pid}: ${'0x' + (BigInt(v.start) + BigInt(i * 4096)).toString(16)} (vma #${v.id})`]);
            }
          }
        }
        options(addrs.length ? addrs : [[A, A]]);
      } else {
        input = document.createElement('input');
        if (type === 'check') { input.type = 'checkbox'; input.checked = def; }
        else { input.type = type === 'number' ? 'number' : 'text'; input.value = def; }
      }
      input.name = name;
      label.appendChild(input);
      fieldsBox.appendChild(label);
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
    case 'access': op.pid = pid(); op.addr = v('addr').value; op.write = v('write').checked; break;
    case 'fork': case 'exit': op.pid = pid(); break;
    case 'munmap': op.pid = pid(); op.addr = v('addr').value; op.len = num('len'); break;
    case 'mprotect': op.pid = pid(); op.addr = v('addr').value; op.len = num('len'); op.prot = v('prot').value; break;
    case 'mremap':
      op.pid = pid(); op.addr = v('addr').value; op.old_len = num('old_len'); op.new_len = num('new_len');
      op.flags = [];
      if (v('maymove').checked) op.flags.push('maymove');
      if (v('fixed').checked) { op.flags.push('fixed'); op.new_addr = v('new_addr').value; }
      break;
    case 'madvise': op.pid = pid(); op.addr = v('addr').value; op.len = num('len'); op.advice = v('advice').value; break;
    case 'brk': op.pid = pid(); op.addr = v('addr').value; break;
    default: op.pfn = Number(v('pfn').value);
  }
  return op;
}
