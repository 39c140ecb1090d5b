/**
 * The gate as JUnit XML, the format every CI system renders: one test case per check,
 * a `<failure>` for a failed one and `<skipped>` for one that could not apply.
 */
import type { GateResult } from '../eval/gate.js';

/** Escapes text for XML content and attribute values; drops characters XML 1.0 forbids. */
export function escapeXml(text: string): string {
  return (
    text
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
  );
}

export interface JunitOptions {
  /** The suite's name, e.g. the plan name. */
  name: string;
  /** ISO time of the run. */
  timestamp?: string;
}

/**
 * @example await writeTextFile('gate.xml', gateJunit(gate, { name: plan.name }));
 */
export function gateJunit(gate: GateResult, options: JunitOptions): string {
  const failures = gate.checks.filter((c) => c.status === 'failed').length;
  const skipped = gate.checks.filter((c) => c.status === 'skipped').length;
  const suite = escapeXml(`rampart gate: ${options.name}`);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${suite}" tests="${gate.checks.length}" failures="${failures}" errors="0" skipped="${skipped}">`,
    `  <testsuite name="${suite}" tests="${gate.checks.length}" failures="${failures}" errors="0" skipped="${skipped}"${options.timestamp ? ` timestamp="${escapeXml(options.timestamp)}"` : ''} time="0">`,
  ];
  for (const check of gate.checks) {
    const open = `    <testcase classname="${escapeXml(`rampart.gate.${options.name}`)}" name="${escapeXml(`${check.id}: ${check.criterion}`)}" time="0"`;
    if (check.status === 'passed') {
      lines.push(`${open}>`, `      <system-out>${escapeXml(check.message)}</system-out>`, '    </testcase>');
    } else if (check.status === 'skipped') {
      lines.push(`${open}>`, `      <skipped message="${escapeXml(check.message)}"/>`, '    </testcase>');
    } else {
      const measured = check.measured === null ? 'not measured' : String(check.measured);
      const i = check.interval;
      const interval = i ? `95% interval: [${i.lower.toFixed(4)}, ${i.upper.toFixed(4)}] (Clopper-Pearson), n: ${i.n}\n` : '';
      const body = `measured: ${measured}\n${interval}required: ${check.required}\n${check.message}`;
      lines.push(
        `${open}>`,
        `      <failure message="${escapeXml(check.message)}" type="criterion">${escapeXml(body)}</failure>`,
        '    </testcase>',
      );
    }
  }
  lines.push('  </testsuite>', '</testsuites>', '');
  return lines.join('\n');
}
