/** The message to show for a failed call (AppError messages are written for people). */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
