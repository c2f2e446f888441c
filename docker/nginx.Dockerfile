# Debian's nginx with the portal's proxy configuration: `docker build -f docker/nginx.Dockerfile .`
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx \
 && rm -rf /var/lib/apt/lists/* \
 && ln -sf /dev/stdout /var/log/nginx/access.log \
 && ln -sf /dev/stderr /var/log/nginx/error.log
COPY docker/nginx.conf /etc/nginx/nginx.conf
COPY docker/nginx-portal.conf /etc/nginx/portal-proxy.conf
EXPOSE 80 443
CMD ["nginx", "-g", "daemon off;"]
