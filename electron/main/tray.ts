// Electron glue only: draws the core's tray model (electron/core/app/tray.ts) with a Tray and its menu.
import { Menu, nativeImage, Tray } from 'electron';
import type { MenuItemConstructorOptions } from 'electron';
import { join } from 'node:path';
import type { TrayHost, TrayItemId, TrayModel } from '../core/app/tray';
import { resourcesDir } from '../core/resources';

/** The tray icon; menu choices go to `onSelect`. Call after app 'ready'. */
export function createTray(onSelect: (id: TrayItemId) => void): TrayHost {
  // macOS draws template images in the menu bar's own colours; elsewhere the coloured icon (and its @2x) shows.
  const mac = process.platform === 'darwin';
  const icon = nativeImage.createFromPath(join(resourcesDir(), mac ? 'trayTemplate.png' : 'tray.png'));
  if (mac) icon.setTemplateImage(true);
  const tray = new Tray(icon);
  // Windows opens the app on a click and shows the menu on a right-click.
  if (process.platform === 'win32') tray.on('click', () => onSelect('open'));
  return {
    render(model: TrayModel) {
      tray.setToolTip(model.tooltip);
      if (mac) tray.setTitle(model.title);
      const template: MenuItemConstructorOptions[] = [
        ...model.lines.map((label) => ({ label, enabled: false })),
        ...(model.lines.length ? [{ type: 'separator' as const }] : []),
        ...model.items.map((item) => ({ label: item.label, enabled: item.enabled, click: () => onSelect(item.id) })),
      ];
      tray.setContextMenu(Menu.buildFromTemplate(template));
    },
    destroy: () => tray.destroy(),
  };
}
