import { describe, expect, it } from 'vitest';
import { render, renderHtml, TIME_ZONE_KEY } from '../../src/actions/templates.js';

const scope = (lead: Record<string, unknown>, orgZone = 'UTC') => ({
  lead,
  event: { data: { at: '2026-01-15T18:05:00Z' } },
  nodes: {},
  [TIME_ZONE_KEY]: orgZone,
});

describe('date filters in the lead’s time zone', () => {
  it('formats an instant in the lead’s zone, else the organization’s, else UTC', () => {
    // Act + Assert
    expect(render('{{ event.data.at | local_time }}', scope({ timeZone: 'America/New_York' }), 'f')).toBe(
      '13:05',
    );
    expect(render('{{ event.data.at | local_time }}', scope({}, 'Asia/Tokyo'), 'f')).toBe('03:05');
    expect(render('{{ event.data.at | local_date }}', scope({}, 'Asia/Tokyo'), 'f')).toBe('16 January 2026');
    expect(render('{{ event.data.at | local_datetime }}', scope({}), 'f')).toBe('15 January 2026, 18:05');
  });

  it('takes a luxon format and an explicit zone', () => {
    expect(render('{{ event.data.at | local_date: "EEE d MMM", "Europe/Madrid" }}', scope({}), 'f')).toBe(
      'Thu 15 Jan',
    );
  });

  it('treats a bare date as that calendar day in the lead’s zone', () => {
    expect(
      render(
        '{{ lead.renewal | local_date: "yyyy-MM-dd" }}',
        scope({ renewal: '2026-03-01', timeZone: 'Pacific/Auckland' }),
        'f',
      ),
    ).toBe('2026-03-01');
  });

  it('fails the step on a value that is not a date', () => {
    expect(() => render('{{ lead.x | local_date }}', scope({ x: 'soon' }), 'n.params.body')).toThrow(
      'template in n.params.body failed',
    );
  });
});

describe('HTML templates', () => {
  it('escape every value unless it is piped through raw', () => {
    // Act
    const html = renderHtml(
      '<p>{{ lead.name }}</p>{{ lead.badge | raw }}',
      scope({ name: '<script>x</script> & co', badge: '<b>VIP</b>' }),
      'f',
    );

    // Assert
    expect(html).toBe('<p>&lt;script&gt;x&lt;/script&gt; &amp; co</p><b>VIP</b>');
  });
});
