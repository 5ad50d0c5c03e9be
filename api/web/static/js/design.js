// Process owners: deployed definitions, versions and running instances per version, and the
// defaults of each procedure's latest version (its 流程参数 script task).
import { api, el, fail, fmtTime, requireLogin, table } from './common.js';

async function main() {
  await requireLogin();
  const rows = await api('definitions');
  const byKey = {};
  for (const row of rows) (byKey[row.process_key] ||= []).push(row);
  const box = document.getElementById('definitions');
  if (!rows.length) { box.append(el('p', { class: 'hint' }, '尚未部署任何流程。可用 tidu deploy processes/ 部署。')); return; }
  const settings = {};
  await Promise.all(Object.entries(byKey).map(async ([key, versions]) => {
    const latest = Math.max(...versions.map((v) => v.version));
    settings[key] = await api(`definitions/${key}/${latest}/settings`).catch(() => []);
  }));
  for (const [key, versions] of Object.entries(byKey)) {
    versions.sort((a, b) => b.version - a.version);
    const running = versions.reduce((n, v) => n + v.running_instances, 0);
    box.append(el('section', { class: 'card', dataset: { key } },
      el('h2', {}, `${versions[0].name}（${key}）`),
      el('p', { class: 'hint' }, `共 ${versions.length} 个版本，运行中案件 ${running} 件。`,
        versions.length > 1 ? el('a', { href: `/ui/design/${key}/compare?a=${versions[1].version}&b=${versions[0].version}` }, ' 比较最近两个版本') : '',
        versions.length > 1 ? el('a', { class: 'migrate-link', href: `/ui/design/${key}/compare?a=${versions[1].version}&b=${versions[0].version}#migration` }, ' 迁移运行中的案件') : ''),
      table(['版本', '部署时间', '部署人', '运行中案件', '文件', '校验和', ''], versions.map((v) => el('tr', { dataset: { version: v.version } },
        el('td', { class: 'nowrap' }, `第 ${v.version} 版`),
        el('td', { class: 'nowrap' }, fmtTime(v.deployed_at)),
        el('td', { class: 'nowrap' }, v.deployed_by),
        el('td', { class: 'running nowrap' }, String(v.running_instances)),
        el('td', { class: 'files' }, v.files.join('、')),
        el('td', { class: 'nowrap' }, el('code', {}, v.checksum.slice(0, 12))),
        el('td', { class: 'nowrap' }, el('a', { class: 'button', href: `/ui/design/${key}/${v.version}` }, '打开编辑')),
      ))),
      settings[key].length ? el('details', { class: 'settings' },
        el('summary', {}, `流程参数（第 ${versions[0].version} 版）：${settings[key].length} 项`),
        el('p', { class: 'hint' }, '法规未作规定、可由流程负责人调整的默认值。点“修改流程参数”打开最新版本并选中“流程参数”脚本任务，'
          + '在右侧属性面板修改相应行的值（同一面板也可修改其他脚本、定时器表达式、分支条件和用户任务的表单等属性，可撤销）；'
          + '也可以“从文件打开”本地编辑好的 .bpmn 文件。校验后部署为新版本；新发起的案件使用新值，运行中的案件不受影响。',
        el('a', { class: 'button secondary edit-settings', href: `/ui/design/${key}/${versions[0].version}?select=${encodeURIComponent(settings[key][0].element_id)}` }, '修改流程参数')),
        table(['参数', '值', '说明'], settings[key].map((p) => el('tr', { dataset: { setting: p.name } },
          el('td', {}, el('code', {}, p.name)), el('td', {}, el('code', {}, JSON.stringify(p.value))), el('td', {}, p.note || '—'))))) : ''));
  }
  document.body.dataset.loaded = 'true';
}

main().catch(fail);
