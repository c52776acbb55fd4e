import { mountCart } from "./vendor";

const button = document.querySelector("#checkout");
button?.addEventListener("click", async () => {
  const { trackPurchase } = await import("./config/iterable");
  await trackPurchase({ eventName: "checkoutStarted", email: "" });
});
mountCart();
