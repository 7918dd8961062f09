import { encodeAttrValue } from './attr-encoding.js';

// Outlook and Gmail ignore width/height attributes in some layouts; the inline style keeps the image 1x1
// and borderless there too, and display:block stops it from adding a line box of its own height.
const PIXEL_STYLE = 'display:block;height:1px!important;width:1px!important;border-width:0!important;margin:0!important;padding:0!important';

/** The open-tracking image: 1x1, empty alt (screen readers skip it), no border. */
export function openPixelHtml(url: string): string {
  return `<img src="${encodeAttrValue(url, '"')}" width="1" height="1" alt="" border="0" style="${PIXEL_STYLE}">`;
}
