/** The time source services are given, so tests can fix it. */
export type Clock = () => Date;

export const systemClock: Clock = () => new Date();
