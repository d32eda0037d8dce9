/** Placeholder until translated. */
const catalog: Readonly<Record<string, string>> = {};
export default catalog;
