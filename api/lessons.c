// SPDX-License-Identifier: MIT
/*
 * lessons.c - the built-in lessons (api/lessons/NN-name.json, embedded at build
 * time): each a session config and a list of steps, an explanation and
 * usually an operation per step.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "codec.h"

extern const char *const api_lesson_src[];
extern const size_t api_lesson_src_count;

size_t api_lesson_count(void)
{
	return api_lesson_src_count;
}

cJSON *api_lesson_json(size_t i, bool full)
{
	cJSON *all, *brief;

	if (i >= api_lesson_src_count)
		return NULL;
	all = cJSON_Parse(api_lesson_src[i]);
	if (!all || full)
		return all;
	brief = cJSON_CreateObject();
	cJSON_AddItemToObject(brief, "name", cJSON_DetachItemFromObject(all, "name"));
	cJSON_AddItemToObject(brief, "title", cJSON_DetachItemFromObject(all, "title"));
	cJSON_AddItemToObject(brief, "summary",
			      cJSON_DetachItemFromObject(all, "summary"));
	cJSON_AddNumberToObject(brief, "steps",
				cJSON_GetArraySize(cJSON_GetObjectItem(all, "steps")));
	cJSON_Delete(all);
	return brief;
}

#define MAX_LESSONS 64
static char lesson_names[MAX_LESSONS][64];
static pthread_once_t names_once = PTHREAD_ONCE_INIT;

static void load_names(void)
{
	size_t i;

	for (i = 0; i < api_lesson_src_count && i < MAX_LESSONS; i++) {
		cJSON *l = cJSON_Parse(api_lesson_src[i]);
		const cJSON *n = cJSON_GetObjectItem(l, "name");

		if (cJSON_IsString(n))
			snprintf(lesson_names[i], sizeof(lesson_names[i]), "%s",
				 n->valuestring);
		cJSON_Delete(l);
	}
}

const char *api_lesson_name(size_t i)
{
	pthread_once(&names_once, load_names);
	if (i >= api_lesson_src_count || i >= MAX_LESSONS)
		return NULL;
	return lesson_names[i];
}

int api_lesson_find(const char *name)
{
	size_t i;

	for (i = 0; i < api_lesson_src_count; i++) {
		const char *n = api_lesson_name(i);

		if (n && !strcmp(n, name))
			return (int)i;
	}
	return -1;
}
