// The gallery: upload with per-file progress, a grid newest first whose
// statuses update by polling, "more" through the list's cursor, a detail view,
// stats, a status filter and search. Plain DOM: the page is small enough that
// a framework would weigh more than the code it saves.
import { ApiError, deleteImage, directUpload, getImage, getStats, listImages, storedKey, storeKey, uploadImage } from './api.ts';
import type { ImageDetail, ImageSummary, ListFilter } from './api.ts';
import { exifRows } from './exif.ts';

const PAGE_SIZE = 24;
const POLL_MS = 1500;
const UPLOADS_AT_ONCE = 3;
const DETAILS_AT_ONCE = 6;
const FINAL = new Set(['success', 'failed']);
const STATUS_LABELS: Record<string, string> = {
  awaiting_upload: 'Awaiting upload',
  queued: 'Queued',
  processing: 'Processing',
  success: 'Done',
  failed: 'Failed',
};

function $<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from the page`);
  return element as T;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<Record<string, string>> = {}, ...children: Array<Node | string>): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined) continue;
    if (name === 'text') element.textContent = value;
    else element.setAttribute(name, value);
  }
  element.append(...children);
  return element;
}

const grid = $<HTMLUListElement>('grid');
const more = $<HTMLButtonElement>('more');
const listMessage = $<HTMLParagraphElement>('list-message');
const statusFilter = $<HTMLSelectElement>('status-filter');
const search = $<HTMLInputElement>('search');
const dialog = $<HTMLDialogElement>('detail');

interface Card {
  summary: ImageSummary;
  detail: ImageDetail | null;
  element: HTMLLIElement;
}

const cards = new Map<string, Card>();
let filter: ListFilter = { status: '', q: '' };
let nextCursor: string | null = null;
/** Bumped by every new listing, so an answer to an older one is dropped. */
let listing = 0;
let openId: string | null = null;

// ---- formatting ------------------------------------------------------------

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const formatDate = (iso: string | null): string => (iso === null ? '–' : dateTime.format(new Date(iso)));

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

const altText = (card: Card): string => card.detail?.caption ?? card.summary.original_name;

// ---- the grid --------------------------------------------------------------

function renderCard(card: Card): void {
  const { summary, detail } = card;
  const status = detail?.status ?? summary.status;
  const thumb =
    status === 'success'
      ? el('img', {
          src: summary.thumbnails.small,
          srcset: `${summary.thumbnails.small} 128w, ${summary.thumbnails.medium} 512w`,
          sizes: '(max-width: 480px) 45vw, 180px',
          alt: altText(card),
          loading: 'lazy',
          decoding: 'async',
        })
      : el('span', { class: 'placeholder', 'aria-hidden': 'true', text: status === 'failed' ? '!' : '…' });
  const button = el(
    'button',
    { type: 'button', class: 'card-open', 'data-id': summary.image_id },
    el('span', { class: 'thumb' }, thumb),
    el('span', { class: 'name', text: summary.original_name }),
    el('span', { class: `badge status-${status}`, text: STATUS_LABELS[status] ?? status }),
  );
  if (status === 'failed' && detail?.error) button.append(el('span', { class: 'reason', text: detail.error }));
  card.element.dataset.status = status;
  card.element.replaceChildren(button);
  if (FINAL.has(status)) settleUploadRow(summary.image_id, status, detail?.error ?? null);
}

/** The upload's row says how processing ended, once the grid knows. */
function settleUploadRow(id: string, status: string, error: string | null): void {
  const row = document.querySelector<HTMLLIElement>(`.upload-row[data-image-id="${CSS.escape(id)}"]`);
  const state = row?.querySelector('.upload-state');
  if (!row || !state || row.dataset.state !== 'done') return;
  row.dataset.state = status === 'success' ? 'done' : 'failed';
  state.textContent = status === 'success' ? 'Done' : `Failed: ${error ?? 'processing failed'}`;
  row.dataset.settled = 'true';
}

function addCard(summary: ImageSummary, where: 'start' | 'end'): void {
  if (cards.has(summary.image_id)) return;
  const card: Card = { summary, detail: null, element: el('li', { class: 'card', 'data-id': summary.image_id }) };
  cards.set(summary.image_id, card);
  renderCard(card);
  if (where === 'start') grid.prepend(card.element);
  else grid.append(card.element);
}

function removeCard(id: string): void {
  cards.get(id)?.element.remove();
  cards.delete(id);
}

function matchesFilter(summary: ImageSummary): boolean {
  return (filter.status === '' || filter.status === summary.status) && filter.q.trim() === '';
}

function showListError(error: unknown): void {
  if (error instanceof ApiError && error.status === 401) {
    listMessage.textContent = 'This API needs a key: enter it above.';
    openKeyForm();
  } else {
    listMessage.textContent = error instanceof Error ? error.message : String(error);
  }
}

async function loadFirstPage(): Promise<void> {
  const mine = ++listing;
  listMessage.textContent = 'Loading…';
  try {
    const page = await listImages(filter, null, PAGE_SIZE);
    if (mine !== listing) return;
    cards.clear();
    grid.replaceChildren();
    for (const item of page.items) addCard(item, 'end');
    nextCursor = page.next;
    more.hidden = nextCursor === null;
    listMessage.textContent = page.items.length === 0 ? (filter.q.trim() || filter.status ? 'No photos match.' : 'No photos yet: upload some above.') : '';
    void refreshDetails();
  } catch (error) {
    if (mine === listing) showListError(error);
  }
}

async function loadMore(): Promise<void> {
  if (nextCursor === null) return;
  const mine = listing;
  more.disabled = true;
  try {
    const page = await listImages(filter, nextCursor, PAGE_SIZE);
    if (mine !== listing) return;
    const firstNew = page.items.find((item) => !cards.has(item.image_id));
    for (const item of page.items) addCard(item, 'end');
    nextCursor = page.next;
    more.hidden = nextCursor === null;
    // Keyboard users land on the first new photo rather than at the top.
    if (firstNew) cards.get(firstNew.image_id)?.element.querySelector('button')?.focus();
    void refreshDetails();
  } catch (error) {
    showListError(error);
  } finally {
    more.disabled = false;
  }
}

/** New photos at the top of the current listing (uploaded here or elsewhere). */
async function loadNewest(): Promise<void> {
  const mine = listing;
  const page = await listImages(filter, null, PAGE_SIZE);
  if (mine !== listing) return;
  for (const item of [...page.items].reverse()) {
    if (!cards.has(item.image_id)) addCard(item, 'start');
  }
  if (page.items.length > 0) listMessage.textContent = '';
}

/** Details (caption, error) of the cards not yet final, a few at a time. */
async function refreshDetails(): Promise<void> {
  const due = [...cards.values()].filter((card) => card.detail === null || !FINAL.has(card.detail.status) || card.detail.caption_status === 'pending');
  let index = 0;
  const worker = async (): Promise<void> => {
    while (index < due.length) {
      const card = due[index++];
      if (!card) continue;
      try {
        const detail = await getImage(card.summary.image_id);
        const changed = JSON.stringify(detail) !== JSON.stringify(card.detail);
        card.detail = detail;
        card.summary = { ...card.summary, status: detail.status, processed_at: detail.processed_at, thumbnails: detail.thumbnails };
        if (changed) renderCard(card);
        if (changed && openId === detail.image_id) fillDetail(detail);
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) removeCard(card.summary.image_id);
      }
    }
  };
  await Promise.all(Array.from({ length: DETAILS_AT_ONCE }, worker));
}

// ---- stats -----------------------------------------------------------------

async function refreshStats(): Promise<void> {
  const stats = await getStats();
  const shown: Record<string, string> = {
    total: String(stats.total),
    success: String(stats.success),
    failed: String(stats.failed),
    success_rate: `${Math.round(stats.success_rate * 1000) / 10} %`,
    avg_processing_time_ms: stats.success === 0 ? '–' : `${Math.round(stats.avg_processing_time_ms)} ms`,
  };
  for (const element of document.querySelectorAll<HTMLElement>('[data-stat]')) {
    const value = shown[element.dataset.stat ?? ''];
    if (value !== undefined && element.textContent !== value) element.textContent = value;
  }
}

// ---- polling ---------------------------------------------------------------

let polling = false;
async function poll(): Promise<void> {
  if (polling || document.hidden) return;
  polling = true;
  try {
    await Promise.all([refreshStats(), loadNewest(), refreshDetails()]);
  } catch {
    // A passing failure: the next round tries again; a lasting one shows in the list's message when the list reloads.
  } finally {
    polling = false;
  }
}

// ---- uploads ---------------------------------------------------------------

const uploadList = $<HTMLUListElement>('upload-list');
const queue: Array<() => Promise<void>> = [];
let running = 0;

function pump(): void {
  while (running < UPLOADS_AT_ONCE && queue.length > 0) {
    const job = queue.shift();
    if (!job) break;
    running++;
    void job().finally(() => {
      running--;
      pump();
    });
  }
}

/**
 * A JPEG or PNG (by the type the browser gives it) goes straight to storage
 * (POST /api/uploads); anything else through POST /api/images, where the API
 * looks at the bytes and says what it thinks of them. Storage that cannot be
 * reached from this page (its CORS lists no origin for it) leaves the API's
 * route for that file.
 */
async function send(file: File, onProgress: (fraction: number) => void): Promise<ImageSummary> {
  if (file.type !== 'image/jpeg' && file.type !== 'image/png') return uploadImage(file, onProgress);
  try {
    return await directUpload(file, onProgress);
  } catch (error) {
    if (error instanceof ApiError && error.status === 0) return uploadImage(file, onProgress);
    throw error;
  }
}

function enqueueUpload(file: File): void {
  const progress = el('progress', { max: '1', value: '0', 'aria-label': `Upload of ${file.name}` });
  const state = el('span', { class: 'upload-state', text: 'Waiting' });
  const row = el('li', { class: 'upload-row' }, el('span', { class: 'upload-name', text: file.name }), progress, state);
  uploadList.prepend(row);
  queue.push(async () => {
    state.textContent = 'Uploading';
    try {
      const onProgress = (fraction: number): void => {
        progress.value = fraction;
        state.textContent = `${Math.round(fraction * 100)} %`;
      };
      const image = await send(file, onProgress);
      progress.value = 1;
      state.textContent = 'Uploaded, processing';
      row.dataset.state = 'done';
      row.dataset.imageId = image.image_id;
      if (matchesFilter(image)) {
        addCard(image, 'start');
        listMessage.textContent = '';
      }
      void refreshStats().catch(() => undefined);
    } catch (error) {
      row.dataset.state = 'error';
      progress.remove();
      state.textContent = error instanceof Error ? error.message : String(error);
      state.setAttribute('role', 'alert');
      if (error instanceof ApiError && error.status === 401) openKeyForm();
    }
  });
  pump();
}

function takeFiles(files: FileList | null): void {
  for (const file of Array.from(files ?? [])) enqueueUpload(file);
}

const drop = $<HTMLLabelElement>('drop');
const fileInput = $<HTMLInputElement>('file-input');
fileInput.addEventListener('change', () => {
  takeFiles(fileInput.files);
  fileInput.value = '';
});
for (const type of ['dragenter', 'dragover'] as const) {
  drop.addEventListener(type, (event) => {
    event.preventDefault();
    drop.classList.add('dragging');
  });
}
for (const type of ['dragleave', 'drop'] as const) drop.addEventListener(type, () => drop.classList.remove('dragging'));
drop.addEventListener('drop', (event) => {
  event.preventDefault();
  takeFiles(event.dataTransfer?.files ?? null);
});
// A file dropped beside the zone must not make the browser navigate away to it.
window.addEventListener('dragover', (event) => event.preventDefault());
window.addEventListener('drop', (event) => event.preventDefault());

// ---- the detail view -------------------------------------------------------

function rows(table: HTMLTableElement, entries: Array<[string, string]>): void {
  table.tBodies[0]?.replaceChildren(...entries.map(([label, value]) => el('tr', {}, el('th', { scope: 'row', text: label }), el('td', { text: value }))));
}

function fillDetail(detail: ImageDetail): void {
  $('detail-title').textContent = detail.original_name;
  const image = $<HTMLImageElement>('detail-image');
  const placeholder = $('detail-placeholder');
  if (detail.status === 'success') {
    if (image.getAttribute('src') !== detail.thumbnails.medium) image.src = detail.thumbnails.medium;
    image.alt = detail.caption ?? detail.original_name;
    image.hidden = false;
    placeholder.hidden = true;
  } else {
    image.hidden = true;
    image.removeAttribute('src');
    placeholder.hidden = false;
    placeholder.textContent = detail.status === 'failed' ? 'No thumbnail: processing failed.' : 'The thumbnail appears once processing is done.';
  }
  $('detail-caption').textContent =
    detail.caption ?? (detail.caption_status === 'pending' ? 'Caption on its way…' : detail.caption_status === 'failed' ? 'No caption could be made.' : '');
  const meta = detail.metadata;
  const facts: Array<[string, string]> = [['Status', STATUS_LABELS[detail.status] ?? detail.status]];
  if (detail.error) facts.push(['Reason', detail.error]);
  if (meta) {
    facts.push(['Dimensions', `${meta.width} × ${meta.height} px`], ['Format', meta.format.toUpperCase()], ['Size', formatBytes(meta.size_bytes)]);
  }
  if (detail.processing_time_ms !== null) facts.push(['Processing time', `${Math.round(detail.processing_time_ms)} ms`]);
  facts.push(['Uploaded', formatDate(detail.created_at)], ['Processed', formatDate(detail.processed_at)]);
  rows($<HTMLTableElement>('detail-facts'), facts);
  const exif = exifRows(detail.exif);
  rows($<HTMLTableElement>('detail-exif'), exif);
  $('detail-exif').hidden = exif.length === 0;
  $('detail-no-exif').hidden = exif.length > 0;
}

let returnFocus: HTMLElement | null = null;

async function openDetail(id: string, opener: HTMLElement): Promise<void> {
  const card = cards.get(id);
  returnFocus = opener;
  openId = id;
  if (card?.detail) fillDetail(card.detail);
  else $('detail-title').textContent = card?.summary.original_name ?? '';
  dialog.showModal();
  try {
    const detail = await getImage(id);
    if (card) card.detail = detail;
    if (openId === id) fillDetail(detail);
  } catch (error) {
    $('detail-caption').textContent = error instanceof Error ? error.message : String(error);
  }
}

dialog.addEventListener('close', () => {
  openId = null;
  returnFocus?.focus();
});
// A click on the backdrop (outside the dialog's box) closes it.
dialog.addEventListener('click', (event) => {
  if (event.target === dialog) dialog.close();
});

grid.addEventListener('click', (event) => {
  const button = (event.target as HTMLElement).closest<HTMLButtonElement>('button.card-open');
  const id = button?.dataset.id;
  if (button && id) void openDetail(id, button);
});

$('detail-delete').addEventListener('click', () => {
  const id = openId;
  if (id === null || !window.confirm('Delete this image, its thumbnails and its data?')) return;
  void deleteImage(id)
    .then(() => {
      removeCard(id);
      returnFocus = $('images-title');
      dialog.close();
      return refreshStats();
    })
    .catch((error: unknown) => {
      $('detail-caption').textContent = error instanceof Error ? error.message : String(error);
    });
});

// ---- filter, search, more, key ----------------------------------------------

let searchTimer: number | undefined;
statusFilter.addEventListener('change', () => {
  filter = { ...filter, status: statusFilter.value };
  void loadFirstPage();
});
search.addEventListener('input', () => {
  window.clearTimeout(searchTimer);
  searchTimer = window.setTimeout(() => {
    filter = { ...filter, q: search.value };
    void loadFirstPage();
  }, 250);
});
$('filter-form').addEventListener('submit', (event) => {
  event.preventDefault();
  window.clearTimeout(searchTimer);
  filter = { status: statusFilter.value, q: search.value };
  void loadFirstPage();
});
more.addEventListener('click', () => void loadMore());

const keyForm = $<HTMLFormElement>('key-form');
const keyToggle = $<HTMLButtonElement>('key-toggle');
const keyInput = $<HTMLInputElement>('api-key');

function openKeyForm(): void {
  keyForm.hidden = false;
  keyToggle.setAttribute('aria-expanded', 'true');
  if (document.activeElement === document.body) keyInput.focus();
}

keyInput.value = storedKey();
keyToggle.addEventListener('click', () => {
  const opening = keyForm.hidden;
  keyForm.hidden = !opening;
  keyToggle.setAttribute('aria-expanded', String(opening));
  if (opening) keyInput.focus();
});
keyForm.addEventListener('submit', (event) => {
  event.preventDefault();
  storeKey(keyInput.value.trim());
  keyForm.hidden = true;
  keyToggle.setAttribute('aria-expanded', 'false');
  void loadFirstPage();
  void refreshStats().catch(() => undefined);
});

void loadFirstPage();
void refreshStats().catch(() => undefined);
window.setInterval(() => void poll(), POLL_MS);
document.addEventListener('visibilitychange', () => void poll());
