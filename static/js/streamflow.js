// Small behaviours shared by every page. htmx itself comes from django-htmx's {% htmx_script %}.
document.addEventListener("htmx:responseError", (event) => {
  const box = document.getElementById("messages");
  if (!box) return;
  const div = document.createElement("div");
  div.className = "alert alert-danger";
  div.setAttribute("role", "alert");
  const status = event.detail.xhr ? event.detail.xhr.status : "";
  div.textContent = status === 403
    ? "You don't have permission to do that. Ask an administrator to add you to the Operators group."
    : `The server answered ${status}. Reload the page and try again; if it keeps failing, check /health/.`;
  box.replaceChildren(div);
});
