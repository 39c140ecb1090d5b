/** `rampart/report`: reports: tables, JUnit, Markdown, HTML and SVG plots. */
export { suiteText, suiteMarkdown } from './report/suite-table.js';
export { robustnessText, robustnessMarkdown } from './report/robustness-table.js';
export { defendedStackTable, defendedStackMarkdown } from './report/defended-stack-table.js';
export { gateJunit } from './report/junit.js';
export { gateMarkdown } from './report/gate-markdown.js';
export { renderHtmlReport, type HtmlReportData } from './report/html/report.js';
export { linePlot } from './report/svg/line-plot.js';
export { reliabilityDiagram } from './report/svg/reliability.js';
