/** The Settings tab: the store's name (and so its retention), who may read it, and deleting it. */
import { action, canChange, storePhrase, type App } from './app.js';
import { focus, h } from './dom.js';
import { readOnlyNote } from './records-tab.js';
import type { StorePage, TabView } from './store-page.js';
import { GENERAL_ACCESS_VALUES, STORE_NAME_PATTERN, type GeneralAccess } from '../rules.js';

export const ACCESS_HELP: Record<GeneralAccess, { label: string; help: string }> = {
  RESTRICTED: { label: 'Restricted', help: 'Only the owner, with an API token, can read or change the store.' },
  ANYONE_WITH_ID_CAN_READ: {
    label: 'Anyone with the ID can read',
    help: "Anyone who knows the store's ID can read its keys and records without a token. Only the owner can change it.",
  },
  ANYONE_WITH_NAME_CAN_READ: {
    label: 'Anyone with the name can read',
    help: 'Like the above, and also by its full name (username~store-name) without a token.',
  },
  FOLLOW_USER_SETTING: {
    label: "Follow the account's setting",
    help: "Uses the owner's account default. This server has no account defaults, so it acts as Restricted.",
  },
};

const KEPT = 'Named stores are kept until you delete them.';
const EXPIRES = 'Unnamed stores expire 7 days after they were last used.';

export class SettingsTab implements TabView {
  readonly element = h('div', {});

  constructor(
    private readonly app: App,
    private readonly page: StorePage,
  ) {
    this.render();
  }

  /** Draws the tab from the store as it is now. */
  private render(): void {
    if (!canChange(this.page.store)) {
      const store = this.page.store!;
      this.element.replaceChildren(
        readOnlyNote(),
        h(
          'dl',
          { class: 'meta', id: 'settings-read-only' },
          h('dt', {}, 'Name'),
          h('dd', {}, store.name ?? 'none (unnamed)'),
          h('dt', {}, 'Access'),
          h('dd', {}, ACCESS_HELP[store.generalAccess]?.label ?? store.generalAccess),
        ),
      );
      return;
    }
    this.element.replaceChildren(this.nameSection(), this.accessSection(), this.deleteSection());
  }

  dispose(): void {}

  private nameSection(): HTMLElement {
    const store = this.page.store!;
    const input = h('input', {
      id: 'store-name',
      name: 'name',
      value: store.name ?? '',
      maxlength: 63,
      spellcheck: 'false',
      autocomplete: 'off',
      'aria-describedby': 'name-help',
    });
    const save = h('button', { type: 'submit', class: 'primary' }, store.name ? 'Rename' : 'Give it a name');
    const form = h(
      'form',
      { id: 'name-form', class: 'section', 'aria-labelledby': 'name-title' },
      h('h2', { id: 'name-title' }, 'Name and retention'),
      h('p', { class: 'row' }, h('label', { for: 'store-name' }, 'Store name'), input, save),
      h(
        'p',
        { id: 'name-help', class: 'muted' },
        store.name ? `This store is named, so it is kept until you delete it. ${EXPIRES}` : `This store is unnamed: it expires 7 days after it was last used. Give it a name to keep it. ${KEPT}`,
      ),
    );
    form.addEventListener(
      'submit',
      action(this.app, save, async () => {
        const name = input.value.trim();
        if (!STORE_NAME_PATTERN.test(name)) throw new Error('A store name is 1-63 letters, digits and hyphens, not starting or ending with a hyphen.');
        await this.rename(name, `The store is now named "${name}". ${KEPT}`);
      }),
    );
    if (store.name) {
      const remove = h('button', { type: 'button', id: 'remove-name', 'aria-describedby': 'remove-name-help' }, 'Remove name');
      remove.addEventListener(
        'click',
        action(this.app, remove, () => this.rename(null, `The store is now unnamed: it expires 7 days after it was last used unless you name it again.`)),
      );
      form.append(
        h('p', { class: 'row' }, remove),
        h('p', { id: 'remove-name-help', class: 'muted' }, 'Removing the name makes the store unnamed: it then expires 7 days after it was last used.'),
      );
    }
    return form;
  }

  private async rename(name: string | null, message: string): Promise<void> {
    await this.app.api.updateStore(this.page.storeId, { name });
    await this.page.refresh();
    this.render();
    this.app.say(message);
    focus(document.getElementById('name-title'));
  }

  private accessSection(): HTMLElement {
    const store = this.page.store!;
    const fieldset = h('fieldset', { class: 'choices' }, h('legend', {}, 'Who may read this store without a token'));
    for (const value of GENERAL_ACCESS_VALUES) {
      const id = `access-${value}`;
      fieldset.append(
        h(
          'div',
          { class: 'choice' },
          h('input', { type: 'radio', name: 'generalAccess', id, value, checked: store.generalAccess === value, 'aria-describedby': `${id}-help` }),
          h('label', { for: id }, `${ACCESS_HELP[value].label} `, h('code', {}, value)),
          h('p', { id: `${id}-help`, class: 'muted' }, ACCESS_HELP[value].help),
        ),
      );
    }
    const save = h('button', { type: 'submit' }, 'Save access');
    // A server without tokens lets every caller read and change everything: the setting is kept, but means nothing there.
    const note =
      this.app.server.wantsToken === false
        ? h(
            'p',
            { id: 'access-note', class: 'notice info' },
            'This server takes no API token: anyone who can reach it may read and change every store, so this setting has no effect here. ' +
              'It is kept, and applies when the store is served by a server with tokens.',
          )
        : null;
    const form = h('form', { id: 'access-form', class: 'section', 'aria-labelledby': 'access-title' }, h('h2', { id: 'access-title' }, 'Access'), note, fieldset, h('p', {}, save));
    form.addEventListener(
      'submit',
      action(this.app, save, async () => {
        const chosen = (form.elements.namedItem('generalAccess') as RadioNodeList).value as GeneralAccess;
        await this.app.api.updateStore(this.page.storeId, { generalAccess: chosen });
        await this.page.refresh();
        this.app.say(`Access is now ${ACCESS_HELP[chosen].label.toLowerCase()} (${chosen}).`);
      }),
    );
    return form;
  }

  private deleteSection(): HTMLElement {
    const store = this.page.store!;
    // An unnamed store is confirmed by its ID.
    const expected = store.name ?? store.id;
    const input = h('input', { id: 'delete-confirm', name: 'confirm', spellcheck: 'false', autocomplete: 'off', 'aria-describedby': 'delete-help' });
    const submit = h('button', { type: 'submit', class: 'danger', disabled: true }, 'Delete store');
    input.addEventListener('input', () => {
      submit.disabled = input.value.trim() !== expected;
    });
    const form = h(
      'form',
      { id: 'delete-form', class: 'section', 'aria-labelledby': 'delete-title' },
      h('h2', { id: 'delete-title' }, 'Delete store'),
      h('p', { id: 'delete-help', class: 'muted' }, 'Deletes the store and every record in it. This cannot be undone.'),
      h('p', { class: 'row' }, h('label', { for: 'delete-confirm' }, `Type `, h('code', {}, expected), ' to confirm'), input, submit),
    );
    form.addEventListener(
      'submit',
      action(this.app, submit, async () => {
        if (input.value.trim() !== expected) throw new Error(`Type "${expected}" to confirm.`);
        await this.app.api.deleteStore(this.page.storeId);
        this.app.navigate({ view: 'stores', unnamed: !store.name });
        this.app.say(`Deleted ${storePhrase(store.id, store)}.`);
      }),
    );
    return form;
  }
}
