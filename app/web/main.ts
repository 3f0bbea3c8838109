const status = document.getElementById('status');
fetch('/health/ready')
  .then((res) => res.json() as Promise<{ ok: boolean }>)
  .then((ready) => {
    if (status) status.textContent += ready.ok ? ' The service is ready.' : ' The service is not ready.';
  })
  .catch(() => undefined);
