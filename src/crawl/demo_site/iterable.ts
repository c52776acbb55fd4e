// Marketing events for the checkout flow, sent straight from the browser.
// Loaded lazily when the customer opens the basket.

export interface TrackEvent {
  eventName: string;
  email: string;
  dataFields?: Record<string, unknown>;
}

export const ITERABLE_ENDPOINT = "https://api.iterable.com/api";

export const ITERABLE_API_KEY = "{{ITERABLE_KEY}}";

export async function trackPurchase(event: TrackEvent): Promise<Response> {
  return fetch(`${ITERABLE_ENDPOINT}/events/track`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "Api-Key": ITERABLE_API_KEY },
    body: JSON.stringify(event),
  });
}
