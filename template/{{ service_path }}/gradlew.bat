@rem Gradle wrapper launcher for Windows: runs the Gradle version pinned in
@rem gradle\wrapper\gradle-wrapper.properties. lemi cannot ship gradle-wrapper.jar;
@rem create it once with a local Gradle 8 (see gradlew) and commit it.
@if "%DEBUG%"=="" @echo off
setlocal
set APP_HOME=%~dp0
set WRAPPER_JAR=%APP_HOME%gradle\wrapper\gradle-wrapper.jar
if exist "%WRAPPER_JAR%" goto findJava
echo gradlew: gradle\wrapper\gradle-wrapper.jar is missing (lemi cannot ship it). 1>&2
echo Create it once with a local Gradle 8, then commit it: 1>&2
echo     gradle wrapper --gradle-version 8.10.2 --distribution-type bin --gradle-distribution-sha256-sum 31c55713e40233a8303827ceb42ca48a47267a0ad4bab9177123121e71524c26 1>&2
exit /b 1

:findJava
set JAVACMD=java.exe
if defined JAVA_HOME set JAVACMD=%JAVA_HOME%\bin\java.exe
"%JAVACMD%" -Xmx64m -Xms64m %JAVA_OPTS% %GRADLE_OPTS% "-Dorg.gradle.appname=gradlew" -classpath "%WRAPPER_JAR%" org.gradle.wrapper.GradleWrapperMain %*
exit /b %ERRORLEVEL%
