/** The webhook retry schedule, parsed with the rules of handlers/src/schedule.rs. */
import * as fs from 'fs';
import * as path from 'path';
import { DEFAULT_DELIVERY_SCHEDULE, DEFAULT_DISABLE_AFTER_SECONDS, parseDeliverySchedule } from '../lib/messaging';

const DAY = 24 * 3600;

describe('parseDeliverySchedule', () => {
  test('the default: seven delays, eight attempts, retention at the 4-day floor', () => {
    const s = parseDeliverySchedule(DEFAULT_DELIVERY_SCHEDULE);
    expect(s.delaysSeconds).toEqual([5, 300, 1800, 7200, 18_000, 36_000, 36_000]);
    expect(s.delaysSeconds.reduce((a, b) => a + b)).toBe(99_305);
    expect(s.attempts).toBe(8);
    expect(s.maxReceiveCount).toBe(8);
    // 99,305 * 1.1 + 86,400 = 195,635.5 s < 4 days.
    expect(s.retentionSeconds).toBe(4 * DAY);
  });

  test('units ms, s, m, h; a bare number is seconds; parts are trimmed; decimals allowed', () => {
    expect(parseDeliverySchedule(' 500ms, 2s ').delaysSeconds).toEqual([0.5, 2]);
    expect(parseDeliverySchedule('30,1.5m,0.5h,12h').delaysSeconds).toEqual([30, 90, 1800, 43_200]);
    expect(parseDeliverySchedule('1s').attempts).toBe(2);
    expect(parseDeliverySchedule(Array(99).fill('1s').join(',')).maxReceiveCount).toBe(100);
  });

  test('retention: the schedule * 1.1 + 1 day, rounded up to whole seconds, within 4 to 14 days', () => {
    // 6 x 12h + 1s = 259,201 s → 285,121.1 + 86,400 → 371,522 (rounded up).
    expect(parseDeliverySchedule([...Array(6).fill('12h'), '1s'].join(',')).retentionSeconds).toBe(371_522);
    // 23 x 12h = 993,600 s → 1,092,960 + 86,400 = 1,179,360 s (13.65 days): the longest whole-12h schedule.
    expect(parseDeliverySchedule(Array(23).fill('12h').join(',')).retentionSeconds).toBe(1_179_360);
    expect(() => parseDeliverySchedule(Array(24).fill('12h').join(','))).toThrow(/14-day retention/);
    // Up to 14 days exactly: 23 x 12h + 27,490 s needs 1,209,599 s; one second more is past it.
    expect(parseDeliverySchedule([...Array(23).fill('12h'), '27490s'].join(',')).retentionSeconds).toBe(1_209_599);
    expect(() => parseDeliverySchedule([...Array(23).fill('12h'), '27491s'].join(','))).toThrow(/14-day retention/);
    expect(parseDeliverySchedule('1m,10m').retentionSeconds).toBe(4 * DAY);
  });

  test.each([
    ['', 'is not a delay like 500ms, 5s, 5m or 2h'],
    ['5s,,1m', 'is not a delay'],
    ['-1s', 'is not a delay'],
    ['1.2.3s', 'is not a delay'],
    ['0s', 'above 0'],
    ['0', 'above 0'],
    ['13h', '"13h" is more than 12h'],
    ['43201', 'more than 12h'],
    ['5x', 'unknown unit "x" in "5x"; use ms, s, m or h'],
    ['5 s', 'unknown unit'],
    ['1d', 'unknown unit "d"'],
    ['5toString', 'unknown unit "toString"'],
    [Array(30).fill('12h').join(','), 'it spans 360h; with jitter and a day\'s margin it must fit SQS\'s 14-day retention'],
    [Array(100).fill('1s').join(','), 'give 1 to 99 delays, not 100'],
  ])('%j is rejected: %s', (text, says) => {
    expect(() => parseDeliverySchedule(text)).toThrow(`retry schedule ${JSON.stringify(text)}: `);
    expect(() => parseDeliverySchedule(text)).toThrow(says);
  });
});

test('the defaults are the Rust ones (handlers/src/schedule.rs, handlers/src/deliver.rs)', () => {
  const handlers = path.join(__dirname, '..', '..', 'handlers', 'src');
  const schedule = fs.readFileSync(path.join(handlers, 'schedule.rs'), 'utf8');
  expect(schedule).toContain(`pub const DEFAULT_SCHEDULE: &str = "${DEFAULT_DELIVERY_SCHEDULE}";`);
  const deliver = fs.readFileSync(path.join(handlers, 'deliver.rs'), 'utf8');
  expect(deliver).toContain('pub const DEFAULT_DISABLE_AFTER: Duration = Duration::from_secs(24 * 3600);');
  expect(DEFAULT_DISABLE_AFTER_SECONDS).toBe(24 * 3600);
});
