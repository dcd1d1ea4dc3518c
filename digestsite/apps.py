"""The project's own configurations of the apps it installs (INSTALLED_APPS).

- The admin, with the site of digestsite/admin_site.py.
- django-axes and django-tasks-db (the task queue's results), named in
  Chinese in the admin. Their models' and fields' names are gettext strings,
  which axes translates into other languages but not Chinese, and
  django-tasks-db into none: locale/zh_Hans/ holds those translations. An
  app's own name is no gettext string, hence these subclasses.
"""

from axes.apps import AppConfig as AxesAppConfig
from django.contrib.admin.apps import AdminConfig
from django_tasks_db.apps import TasksAppConfig


class DigestAdminConfig(AdminConfig):
    default_site = "digestsite.admin_site.DigestAdminSite"


class AxesConfig(AxesAppConfig):
    verbose_name = "登录防护"


class TasksDatabaseConfig(TasksAppConfig):
    verbose_name = "后台任务"
