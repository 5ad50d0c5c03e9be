// Sign-in: paste a bearer token, or pick a demo user (demo mode only).
import { api, el, fail, notice, regionNames, ROLE_NAMES, showWho, signIn, signOut, token } from './common.js';

// The pages each role works with, as the menu shows them (base.html `data-roles`; README, "Web
// pages"); the first is where it lands on sign-in.
const PAGES = {
  enterprise: [['/ui/inbox', '待办'], ['/ui/self-check', '申报自测'], ['/ui/rounds', '申报批次']],
  city: [['/ui/inbox', '待办'], ['/ui/self-check', '申报自测'], ['/ui/rounds', '申报批次'],
    ['/ui/qualifications', '资质管理'], ['/ui/complaints', '投诉']],
  province: [['/ui/inbox', '待办'], ['/ui/design', '流程设计'], ['/ui/self-check', '申报自测'],
    ['/ui/rounds', '申报批次'], ['/ui/qualifications', '资质管理'], ['/ui/complaints', '投诉'],
    ['/ui/incidents', '异常处理'], ['/ui/audit', '审计']],
  miit: [['/ui/inbox', '待办'], ['/ui/rounds', '申报批次'], ['/ui/qualifications', '资质管理']],
  process_owner: [['/ui/design', '流程设计'], ['/ui/incidents', '异常处理']],
  auditor: [['/ui/audit', '审计'], ['/ui/design', '流程设计'], ['/ui/rounds', '申报批次'],
    ['/ui/qualifications', '资质管理'], ['/ui/incidents', '异常处理']],
  public: [['/ui/complaints', '投诉']],
};
const ANYONE = ['/ui/public', '资质公开查询']; // no sign-in needed
const pagesOf = (role) => [...(PAGES[role] || []), ANYONE];

async function enter(value) {
  signIn(value);
  try {
    const me = await api('/ui/session');
    const next = new URLSearchParams(location.search).get('next');
    location.href = next && next.startsWith('/ui/') ? next : pagesOf(me.role)[0][0];
  } catch (error) {
    signOut();
    notice(error.status === 401 ? '令牌无效，请检查后重试' : String(error.message), 'error');
  }
}

async function showSignedIn() {
  if (!token()) return;
  try {
    const [me, regions] = await Promise.all([api('/ui/session'), regionNames()]);
    showWho(me);
    document.getElementById('signed-in').hidden = false;
    document.getElementById('signed-in-as').textContent =
      `已登录：${me.display_name}（${ROLE_NAMES[me.role] || me.role}${me.region ? `，${regions[me.region] || me.region}` : ''}）`;
    document.getElementById('signed-in-pages').replaceChildren(
      ...pagesOf(me.role).flatMap(([href, name]) => [el('a', { href }, name), ' · ']));
  } catch { signOut(); }
}

async function demoUsers() {
  const found = await fetch('/ui/demo-users').then((r) => r.json());
  if (!found.demo) return;
  document.getElementById('demo').hidden = false;
  document.getElementById('demo-users').replaceChildren(...found.users.map((u) => el('button', {
    type: 'button', dataset: { user: u.id }, onclick: () => enter(u.token),
  }, u.display_name, ' ', el('span', { class: 'role' }, ROLE_NAMES[u.role] || u.role))));
}

document.getElementById('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const value = document.getElementById('token').value;
  if (!value.trim()) { notice('请粘贴访问令牌', 'error'); return; }
  enter(value);
});
document.getElementById('logout').addEventListener('click', () => { signOut(); location.reload(); });
showSignedIn().catch(fail);
demoUsers().catch(fail);
